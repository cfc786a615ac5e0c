import BayesClassifier from 'natural/lib/natural/classifiers/bayes_classifier';

export interface CategoryPrediction {
  category: string;
  /** Share of the probability mass of the best category, 0..1. */
  confidence: number;
}

/** A trained snapshot; predicting is pure. */
export interface CategoryPredictor {
  examples: number;
  predict(text: string): CategoryPrediction | null;
}

/**
 * Trains natural's naive Bayes classifier on past tickets (subject and first message text)
 * with the category a rule or staff gave them. Needs examples of at least two categories.
 */
export function trainCategoryModel(examples: { text: string; category: string }[]): CategoryPredictor | null {
  if (new Set(examples.map((e) => e.category)).size < 2) return null;
  const classifier = new BayesClassifier();
  for (const e of examples) classifier.addDocument(e.text.slice(0, 4000), e.category);
  classifier.train();
  return {
    examples: examples.length,
    predict(text) {
      const scores = classifier.getClassifications(text.slice(0, 4000));
      const total = scores.reduce((sum, s) => sum + s.value, 0);
      if (scores.length === 0 || total <= 0) return null;
      return { category: scores[0].label, confidence: scores[0].value / total };
    },
  };
}

/**
 * Keeps a trained snapshot for the pipeline and retrains it when the training set changed
 * (a ticket categorised by a rule or recategorised by staff). Checks for changes at most
 * every `checkEveryMs`, so the hot path pays one small query now and then.
 */
export function categoryModelCache(source: { signature(): string; examples(): { text: string; category: string }[] }, checkEveryMs = 30_000, now: () => number = Date.now) {
  let model: CategoryPredictor | null = null;
  let signature = '';
  let checkedAt = -Infinity;
  return {
    current(): CategoryPredictor | null {
      if (now() - checkedAt < checkEveryMs) return model;
      checkedAt = now();
      const next = source.signature();
      if (next !== signature) {
        signature = next;
        model = trainCategoryModel(source.examples());
      }
      return model;
    },
  };
}
