import { col, type Column } from '../rows.js';

/**
 * A field of the API resource that no column stores: its `object` name, a template's `source`.
 * It rides on a column the same mapper selects anyway (`id` unless told), so the SELECT list does
 * not change, and it keeps its place in the resource's JSON (`id`, then `object`, …).
 */
export function fixed<const T>(value: T, alongside = 'id'): Column<T> {
  return col.custom(alongside, () => value);
}
