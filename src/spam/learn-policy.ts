/**
 * When a message whose true label staff made known (an agent answered it: ham; `#spam`, the
 * junk folder: spam) is worth learning: "thick threshold" training, as bogofilter's and
 * SpamBayes' users train. A message the filter already scored clearly right teaches little
 * and, learnt by the thousand, lets easy ham drown the rest of the model; one it got wrong,
 * was unsure about, or only just got right is learnt.
 */
export const THICK = { ham: 0.1, spam: 0.9 };

export function shouldLearn(label: 'spam' | 'ham', score: number): boolean {
  return label === 'ham' ? score > THICK.ham : score < THICK.spam;
}
