/** The Lint section: findings grouped by cell; click one to go to its cell; Fix. */
import { h, replace } from './dom';
import { ISectionContext, Section } from './section';
import { IDiagnostic } from './tokens';

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
  private diagnostics: IDiagnostic[] = [];
  private running = false;

  constructor(ctx: ISectionContext) {
    super('lint', 'Lint', 'lint', ctx);
    this.toolbar.append(
      this.button('Lint', 'nbprod-lint-run', () => void this.lint()),
      this.button('Fix', 'nbprod-lint-fix', () => void this.fix())
    );
  }

  protected onNotebook(): void {
    this.diagnostics = [];
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
        if (this.owns(panel)) {
          this.render(found);
        }
      });
    } finally {
      this.running = false;
    }
  }

  /** Save, apply the safe fixes on disk, reload the notebook and show what is left. */
  async fix(): Promise<void> {
    if (!this.ready || !this.notebook || this.running) {
      return;
    }
    const context = this.notebook.context;
    this.running = true;
    try {
      await this.busy('Fixing…', async () => {
        await this.saveFirst();
        const before = this.diagnostics.length;
        const panel = this.notebook;
        const left = await this.ctx.client.fix(this.path);
        await context.revert();
        if (this.owns(panel)) {
          this.render(left, before > left.length ? `Fixed ${before - left.length}. ` : '');
        }
      });
    } finally {
      this.running = false;
    }
  }

  private render(diagnostics: IDiagnostic[], prefix = ''): void {
    this.diagnostics = diagnostics;
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
    if (!this.notebook || !d.cell_id) {
      return;
    }
    if (!this.ctx.goToCell(this.notebook, d.cell_id)) {
      this.setStatus(`Cell ${d.cell} is no longer in the notebook; lint again.`, 'error');
    }
  }
}
