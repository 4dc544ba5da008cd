/**
 * The cell tag editor (a dialog for nbprod's tags) and the small badges that show each
 * cell's nbprod tags in the notebook.
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { ICellModel } from '@jupyterlab/cells';
import { NotebookPanel } from '@jupyterlab/notebook';
import { Widget } from '@lumino/widgets';

import { h } from './dom';
import { isNbprodTag, NBPROD_TAGS, STEP_PREFIX } from './tokens';

const STEP_NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** What each tag means, shown next to its checkbox. */
const TAG_HELP: Record<string, string> = {
  parameters: "papermill's parameters cell (typed: `lr: float = 0.1  # help`)",
  export: "goes into the notebook's module",
  test: 'becomes a pytest test of the module',
  skip: 'never exported, never part of a step'
};

/** The tags of a cell model (only strings). */
export function cellTags(model: ICellModel): string[] {
  const tags = model.getMetadata('tags');
  return Array.isArray(tags) ? tags.filter(t => typeof t === 'string') : [];
}

/** Set a cell's tags, removing the key when none are left (as JupyterLab does). */
export function setCellTags(model: ICellModel, tags: string[]): void {
  if (tags.length) {
    model.setMetadata('tags', tags);
  } else {
    model.deleteMetadata('tags');
  }
}

/** The body of the tag dialog: a checkbox per tag and a step name. */
class TagEditorBody extends Widget implements Dialog.IBodyWidget<string[] | null> {
  private readonly boxes = new Map<string, HTMLInputElement>();
  private readonly step: HTMLInputElement;
  private readonly stepError: HTMLElement;
  private readonly others: string[];

  constructor(current: string[]) {
    super();
    this.addClass('nbprod-tag-editor');
    this.others = current.filter(t => !isNbprodTag(t));
    for (const tag of NBPROD_TAGS) {
      const box = h('input', {
        type: 'checkbox',
        name: tag,
        checked: current.includes(tag),
        'data-tag': tag
      });
      this.boxes.set(tag, box);
      this.node.append(
        h('label', { className: 'nbprod-tag-option' }, box, h('code', {}, tag), ' ', TAG_HELP[tag])
      );
    }
    const step = current.find(t => t.startsWith(STEP_PREFIX));
    this.step = h('input', {
      type: 'text',
      className: 'nbprod-step-name',
      placeholder: 'step name (empty: none)',
      value: step ? step.slice(STEP_PREFIX.length) : ''
    });
    this.stepError = h('div', { className: 'nbprod-field-error nbprod-step-error', role: 'alert' });
    this.step.addEventListener('input', () => this.validate());
    this.node.append(
      h('label', { className: 'nbprod-tag-option' }, h('code', {}, 'step:'), this.step),
      this.stepError,
      h('p', { className: 'nbprod-hint' }, 'Other tags are kept: ' + (this.others.join(', ') || 'none'))
    );
  }

  /** Show what is wrong with the step name, and allow Apply only when nothing is. */
  validate(): boolean {
    const message = stepNameError(this.step.value.trim());
    this.stepError.textContent = message;
    this.step.classList.toggle('nbprod-invalid', !!message);
    const accept = this.node
      .closest('.jp-Dialog-content')
      ?.querySelector<HTMLButtonElement>('.jp-mod-accept');
    if (accept) {
      accept.disabled = !!message;
    }
    return !message;
  }

  protected onAfterAttach(): void {
    this.validate();
  }

  /** The new tags, or null while the step name is not valid (nothing is applied). */
  getValue(): string[] | null {
    if (!this.validate()) {
      return null;
    }
    const tags = [...this.others];
    for (const [tag, box] of this.boxes) {
      if (box.checked) {
        tags.push(tag);
      }
    }
    const step = this.step.value.trim();
    if (step) {
      tags.push(STEP_PREFIX + step);
    }
    return tags;
  }
}

/** Why `name` cannot be a step name ('' when it can, or when it is empty: no step). */
export function stepNameError(name: string): string {
  if (!name || STEP_NAME.test(name)) {
    return '';
  }
  return `"${name}" is not a step name: start with a letter or "_", then letters, digits, "_" or "-"`;
}

/**
 * Open the tag editor for the active cell of `panel` and apply the result.
 *
 * @returns whether the tags were changed
 */
export async function editActiveCellTags(panel: NotebookPanel): Promise<boolean> {
  const cell = panel.content.activeCell;
  if (!cell) {
    return false;
  }
  const body = new TagEditorBody(cellTags(cell.model));
  const result = await showDialog({
    title: `nbprod tags of cell ${panel.content.activeCellIndex + 1}`,
    body,
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Apply' })]
  });
  if (!result.button.accept || result.value === null) {
    return false;
  }
  setCellTags(cell.model, result.value);
  return true;
}

/** Keeps a badge row on every cell of one notebook in step with the cells' tags. */
export class CellBadges {
  private pending = 0;

  constructor(private readonly panel: NotebookPanel) {
    const notebook = panel.content;
    notebook.modelContentChanged.connect(this.schedule, this);
    notebook.activeCellChanged.connect(this.schedule, this);
    // A restored or long notebook renders its cells lazily, as they scroll into view: draw
    // the badges of each cell when it appears, not only once at start.
    notebook.cellInViewportChanged.connect(this.schedule, this);
    panel.context.ready.then(() => this.schedule());
    void panel.revealed.then(() => this.schedule());
    panel.disposed.connect(() => notebook.modelContentChanged.disconnect(this.schedule, this));
  }

  /** Redraw on the next frame; many signals in a row cost one redraw. */
  schedule(): void {
    if (!this.pending) {
      this.pending = requestAnimationFrame(() => {
        this.pending = 0;
        this.render();
      });
    }
  }

  render(): void {
    for (const cell of this.panel.content.widgets) {
      // Tag edits change metadata only, which the notebook's content signal does not
      // report; connecting is idempotent, so every render makes sure each cell is watched.
      cell.model.metadataChanged.connect(this.schedule, this);
      const tags = cellTags(cell.model).filter(isNbprodTag);
      // The cell header is an empty widget without a layout: a safe home for extra nodes
      // (the cell's own node is laid out by index, so a node added there would shift it).
      const header = cell.node.querySelector<HTMLElement>(':scope > .jp-Cell-header');
      if (!header) {
        continue;
      }
      let row = header.querySelector<HTMLElement>(':scope > .nbprod-badges');
      if (!tags.length) {
        row?.remove();
        continue;
      }
      if (!row) {
        row = h('div', { className: 'nbprod-badges' });
        header.append(row);
      }
      const text = tags.join(' ');
      if (row.dataset.tags !== text) {
        row.dataset.tags = text;
        row.replaceChildren(
          ...tags.map(tag =>
            h('span', { className: `nbprod-badge nbprod-badge-${tag.split(':')[0]}`, title: 'nbprod tag' }, tag)
          )
        );
      }
    }
  }
}
