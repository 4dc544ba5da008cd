/** The Lint section: findings grouped by cell; click one to go to its cell; Fix. */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { ICodeCellModel } from '@jupyterlab/cells';
import { Widget } from '@lumino/widgets';

import { cellIndex } from './cells';
import { h, replace } from './dom';
import { ISectionContext, Section } from './section';
import { setCellTags } from './tags';
import { IDiagnostic, IFixPreview } from './tokens';

type IFixCell = IFixPreview['notebooks'][number]['cells'][number];

/** The preview of a fix, cell by cell: what the cell holds now, and what it would hold. */
function previewBody(preview: IFixPreview['notebooks'][number]): Widget {
  const body = new Widget({ node: h('div', { className: 'nbprod-fix-preview' }) });
  for (const cell of preview.cells) {
    const label = cell.cell ? `Cell ${cell.cell}` : 'New cell';
    const notes: string[] = [];
    if (cell.change === 'removed') {
      notes.push('removed');
    }
    if (cell.before?.outputs && !cell.after?.outputs) {
      notes.push('outputs cleared');
    } else if (cell.removed_outputs?.length) {
      const shown = cell.removed_outputs.map(i => i + 1).join(', ');
      notes.push(`output${cell.removed_outputs.length > 1 ? 's' : ''} ${shown} of ${cell.before?.outputs} removed`);
    }
    body.node.append(
      h(
        'div',
        { className: 'nbprod-fix-cell', 'data-cell-id': cell.cell_id ?? '' },
        h('div', { className: 'nbprod-fix-title' }, label, notes.length ? ` (${notes.join(', ')})` : ''),
        h(
          'div',
          { className: 'nbprod-diff-sides' },
          h('pre', { className: 'nbprod-diff-a' }, cell.before?.source ?? ''),
          h('pre', { className: 'nbprod-diff-b' }, cell.after?.source ?? '')
        )
      )
    );
  }
  for (const file of preview.files) {
    body.node.append(
      h(
        'div',
        { className: 'nbprod-fix-file' },
        h('div', { className: 'nbprod-fix-title' }, `${file.path} (written first)`),
        h('pre', { className: 'nbprod-diff-b' }, file.after)
      )
    );
  }
  return body;
}

/** Group findings by cell, in cell order; notebook-wide findings first. */
export function groupByCell(diagnostics: IDiagnostic[]): Map<number | null, IDiagnostic[]> {
  const groups = new Map<number | null, IDiagnostic[]>();
  const sorted = [...diagnostics].sort((a, b) => (a.cell ?? 0) - (b.cell ?? 0));
  for (const d of sorted) {
    const key = d.cell ?? null;
    groups.set(key, [...(groups.get(key) ?? []), d]);
  }
  return groups;
}

export class LintSection extends Section {
  private running = false;

  constructor(ctx: ISectionContext) {
    super('lint', 'Lint', 'lint', ctx);
    this.toolbar.append(
      this.button('Lint', 'nbprod-lint-run', () => void this.lint()),
      this.button('Fix', 'nbprod-lint-fix', () => void this.fix())
    );
  }

  protected onNotebook(): void {
    // Nothing to reset: each lint draws its findings anew.
  }

  /** Save, lint the notebook file and show the findings. */
  async lint(): Promise<void> {
    // Saving first triggers lint-on-save, which must not start a second lint.
    if (!this.ready || this.running) {
      return;
    }
    this.running = true;
    const panel = this.notebook;
    try {
      await this.busy('Linting…', async () => {
        await this.saveFirst();
        const found = await this.ctx.client.lint(this.path);
        // Nothing found may also mean that the project does not lint this notebook.
        const excluded = !found.length && !(await this.ctx.client.lintFiles(this.path)).length;
        if (!this.owns(panel)) {
          return;
        }
        if (excluded) {
          this.setStatus(
            'Not linted: this notebook matches `exclude` in the project\'s [tool.nbprod.lint].',
            'info'
          );
          replace(this.body);
        } else {
          this.render(found);
        }
      });
    } finally {
      this.running = false;
    }
  }

  /**
   * Save, show what the safe fixes would change, and apply them to the open notebook.
   *
   * The cells change in the notebook's model, in one step, so JupyterLab's undo takes them
   * back and nothing unsaved is ever lost; other files a fix extends (a requirements file)
   * are written first, so an install line is never commented out before it is declared.
   */
  async fix(): Promise<void> {
    // The lint a save starts may still be running: fix once it ends, not drop the click.
    while (this.running) {
      await new Promise(resolve => setTimeout(resolve, 100));
    }
    if (!this.ready || !this.notebook) {
      return;
    }
    const panel = this.notebook;
    this.running = true;
    try {
      await this.busy('Looking for fixes…', async () => {
        await this.saveFirst();
        const preview = await this.ctx.client.fixPreview(this.path);
        if (!this.owns(panel)) {
          return;
        }
        const changes = preview.notebooks[0];
        if (!changes || (!changes.cells.length && !changes.files.length)) {
          this.setStatus('Nothing to fix automatically.', 'info');
          return;
        }
        const answer = await showDialog({
          title: `Fix ${changes.cells.length} cell${changes.cells.length === 1 ? '' : 's'}`,
          body: previewBody(changes),
          buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Apply' })]
        });
        if (!answer.button.accept || !this.owns(panel)) {
          this.setStatus('No fix applied.', 'info');
          return;
        }
        const folder = this.path.includes('/') ? this.path.slice(0, this.path.lastIndexOf('/') + 1) : '';
        // The other files as the fixes leave them now: one may have changed while the dialog
        // was open (another notebook's fix added a package), and writing the text computed
        // for the preview would drop that change.
        const files = changes.files.length
          ? ((await this.ctx.client.fixPreview(this.path)).notebooks[0]?.files ?? [])
          : [];
        for (const file of files) {
          await this.ctx.saveText(folder + file.path, file.after);
        }
        const applied = this.applyCells(changes.cells);
        this.running = false;
        await this.lint();
        this.setStatus(
          `Applied fixes to ${applied} cell${applied === 1 ? '' : 's'} (Undo takes them back). ` +
            (this.status.textContent ?? ''),
          'info'
        );
      });
    } finally {
      this.running = false;
    }
  }

  /** Change the open notebook's cells as the preview says, as one undoable step. */
  private applyCells(cells: IFixCell[]): number {
    const model = this.notebook?.content.model;
    if (!model) {
      return 0;
    }
    let applied = 0;
    model.sharedModel.transact(() => {
      for (const change of cells) {
        const index = cellIndex(Array.from(model.cells).map(c => c.id), change.cell_id, change.cell);
        if (index < 0) {
          continue;
        }
        const cell = model.cells.get(index);
        if (change.change === 'removed') {
          model.sharedModel.deleteCell(index);
        } else if (change.after) {
          if (cell.sharedModel.getSource() !== change.after.source) {
            cell.sharedModel.setSource(change.after.source);
          }
          setCellTags(cell, change.after.tags);
          // Cleared outputs are all positions removed: one path for both.
          if (cell.type === 'code' && change.removed_outputs?.length) {
            const outputs = (cell as ICodeCellModel).outputs;
            const kept = outputs.toJSON().filter((_, i) => !change.removed_outputs!.includes(i));
            outputs.clear();
            kept.forEach(output => outputs.add(output));
          }
        }
        applied++;
      }
    });
    return applied;
  }

  private render(diagnostics: IDiagnostic[], prefix = ''): void {
    const count = diagnostics.length;
    this.setStatus(
      prefix + (count ? `${count} finding${count === 1 ? '' : 's'}` : 'No findings'),
      'info'
    );
    const groups = groupByCell(diagnostics);
    const nodes: HTMLElement[] = [];
    for (const [cell, items] of groups) {
      const label = cell === null ? 'Notebook' : `Cell ${cell}`;
      nodes.push(
        h(
          'div',
          { className: 'nbprod-lint-group', 'data-cell': cell ?? '' },
          h('div', { className: 'nbprod-lint-cell' }, label),
          h('ul', {}, ...items.map(d => this.finding(d)))
        )
      );
    }
    replace(this.body, ...nodes);
  }

  private finding(d: IDiagnostic): HTMLElement {
    const where = d.cell ? `line ${d.location.row}` : '';
    return h(
      'li',
      {
        className: `nbprod-finding nbprod-severity-${d.severity}`,
        'data-cell-id': d.cell_id ?? '',
        'data-code': d.code,
        title: d.fix ? `Fixable: ${d.fix.message ?? d.fix.applicability}` : d.name,
        tabindex: 0,
        onClick: () => this.reveal(d),
        onKeydown: (event: KeyboardEvent) => event.key === 'Enter' && this.reveal(d)
      },
      h('span', { className: 'nbprod-code' }, d.code),
      d.fix ? h('span', { className: 'nbprod-fixable', title: 'fixable' }, '[*]') : null,
      ' ',
      h('span', { className: 'nbprod-message' }, d.message),
      where ? h('span', { className: 'nbprod-where' }, ` (${where})`) : null
    );
  }

  private reveal(d: IDiagnostic): void {
    if (!this.notebook || d.cell === null) {
      return;
    }
    if (!this.ctx.goToCell(this.notebook, d.cell_id, d.cell)) {
      this.setStatus(`Cell ${d.cell} is no longer in the notebook; lint again.`, 'error');
    }
  }
}
