import type { Page, PageParams } from './types.ts';

/**
 * Every item of a list, page after page (`nextCursor` until null), for `for await`. Pages are
 * fetched as the loop goes, so stopping early fetches no more.
 */
export async function* everyItem<T, F extends PageParams>(list: (filter: F) => Promise<Page<T>>, filter: F): AsyncGenerator<T, void, undefined> {
  let cursor = filter.cursor;
  for (;;) {
    const page = await list({ ...filter, ...(cursor === undefined ? {} : { cursor }) });
    yield* page.data;
    if (page.nextCursor === null || page.nextCursor === cursor) return;
    cursor = page.nextCursor;
  }
}
