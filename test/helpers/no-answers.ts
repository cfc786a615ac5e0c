import type { AnswerBook } from '../../src/knowledge/answers';

/** StageContext.answers for stage tests whose messages use no `#answer`: asking is a test error. */
export const noAnswers = (): AnswerBook => {
  throw new Error('this test asks for no canned answers');
};
