// natural's package entry loads every storage backend (and dotenv, which prints to stdout);
// we import the one classifier file, which ships no types of its own.
declare module 'natural/lib/natural/classifiers/bayes_classifier' {
  class BayesClassifier {
    addDocument(text: string, label: string): void;
    train(): void;
    getClassifications(text: string): { label: string; value: number }[];
  }
  export = BayesClassifier;
}
