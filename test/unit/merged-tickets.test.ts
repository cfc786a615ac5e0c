import { followMerges, type MergeLink } from '../../src/pipeline/merged-tickets';

const chain = (links: MergeLink[]) => {
  const byId = new Map(links.map((l) => [l.id, l]));
  return async (id: number) => byId.get(id) ?? null;
};

describe('followMerges', () => {
  it('follows a ticket merged twice to the one that holds the conversation', async () => {
    const links = [{ id: 1, ref: 'HD-1', mergedInto: 2 }, { id: 2, ref: 'HD-2', mergedInto: 3 }, { id: 3, ref: 'HD-3', mergedInto: null }];
    expect(await followMerges(links[0], chain(links))).toEqual({ id: 3, ref: 'HD-3', mergedFrom: 'HD-1' });
    expect(await followMerges(links[2], chain(links))).toEqual({ id: 3, ref: 'HD-3' });
  });

  it('stops on a cycle written before #merge refused one, and on a dangling link', async () => {
    const cycle = [{ id: 1, ref: 'HD-1', mergedInto: 2 }, { id: 2, ref: 'HD-2', mergedInto: 1 }];
    expect(await followMerges(cycle[0], chain(cycle))).toEqual({ id: 2, ref: 'HD-2', mergedFrom: 'HD-1' });
    const dangling = [{ id: 1, ref: 'HD-1', mergedInto: 9 }];
    expect(await followMerges(dangling[0], chain(dangling))).toEqual({ id: 1, ref: 'HD-1' });
    expect(await followMerges(null, chain([]))).toBeNull();
  });
});
