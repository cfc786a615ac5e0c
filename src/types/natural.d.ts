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

// Stop-word lists (English, Spanish, French, German's is absent, Portuguese, Italian): plain arrays.
declare module 'natural/lib/natural/util/stopwords' {
  export const words: string[];
}
declare module 'natural/lib/natural/util/stopwords_es' {
  export const words: string[];
}
declare module 'natural/lib/natural/util/stopwords_fr' {
  export const words: string[];
}
declare module 'natural/lib/natural/util/stopwords_pt' {
  export const words: string[];
}
declare module 'natural/lib/natural/util/stopwords_it' {
  export const words: string[];
}
declare module 'natural/lib/natural/stemmers/porter_stemmer' {
  export function stem(word: string): string;
}
