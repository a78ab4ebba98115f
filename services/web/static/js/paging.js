// A cursor-paged list (the history, the review queue): the first page replaces the list, "more" appends the
// next one after `view.cursor`. `view` holds {list, more, count, error, cursor, shown}; `stale()` says
// the page was left while the request ran.
import { api } from "./api.js";
import { replace } from "./dom.js";

export async function showPage(view, { path, query, next, row, counted, stale }) {
  if (next && view.cursor) query.set("cursor", view.cursor);
  view.error.textContent = "";
  try {
    const page = await api(`${path}?${query}`);
    if (stale()) return;
    if (!next) {
      replace(view.list);
      view.shown = 0;
    }
    view.shown += page.count;
    for (const item of page.data) view.list.append(row(item));
    view.cursor = page.next_cursor;
    view.more.hidden = !page.next_cursor;
    view.count.textContent = counted(view.shown);
  } catch (e) {
    if (!stale()) view.error.textContent = e.message;
  }
}
