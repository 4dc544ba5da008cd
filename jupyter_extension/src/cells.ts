/**
 * Finding the cell the server names. The server reads the notebook file: a cell has the id
 * written there, or none in a notebook older than nbformat 4.5, where JupyterLab makes up
 * ids of its own. Then the position names the cell: the panel saves the notebook before it
 * asks, so the file's positions are the open notebook's.
 */

/**
 * The 0-based index of the cell among `ids` (the open notebook's cell ids, in order), from
 * the server's `cellId` or, when it has none, its 1-based `position`; -1 when neither fits.
 */
export function cellIndex(ids: string[], cellId: string | null, position: number | null): number {
  if (cellId) {
    return ids.indexOf(cellId);
  }
  const index = (position ?? 0) - 1;
  return index >= 0 && index < ids.length ? index : -1;
}
