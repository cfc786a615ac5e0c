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

/** Where the pipeline gets the current predictor: at once (a snapshot) or after a check of the store. */
export type CategoryModelSource = () => CategoryPredictor | null | Promise<CategoryPredictor | null>;

type Examples = { text: string; category: string }[];

/**
 * Keeps a trained snapshot for the pipeline and retrains it when the training set changed
 * (a ticket categorised by a rule or recategorised by staff). Checks for changes at most
 * every `checkEveryMs`, so the hot path pays one small query now and then; on PostgreSQL the
 * queries are asynchronous and one check serves every message that asks meanwhile. A check
 * that fails (the store unreachable) keeps the snapshot, reports the error to `onError`, and is
 * tried again after `checkEveryMs`: a prediction is advice, never a reason to fail a message.
 */
export function categoryModelCache(
  source: { signature(): string | Promise<string>; examples(): Examples | Promise<Examples> },
  options: { checkEveryMs?: number; now?: () => number; onError?: (err: unknown) => void } = {},
) {
  const checkEveryMs = options.checkEveryMs ?? 30_000;
  const now = options.now ?? Date.now;
  let model: CategoryPredictor | null = null;
  let signature = '';
  let checkedAt = -Infinity;
  let checking: Promise<CategoryPredictor | null> | null = null;
  const check = async (): Promise<CategoryPredictor | null> => {
    try {
      const next = await source.signature();
      if (next !== signature) {
        model = trainCategoryModel(await source.examples());
        signature = next;
      }
    } catch (err) {
      options.onError?.(err);
    }
    return model;
  };
  return {
    current(): Promise<CategoryPredictor | null> {
      if (checking) return checking;
      if (now() - checkedAt < checkEveryMs) return Promise.resolve(model);
      checkedAt = now();
      checking = check().finally(() => {
        checking = null;
      });
      return checking;
    },
  };
}
