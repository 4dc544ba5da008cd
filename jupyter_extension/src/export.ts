/** The Export section: preview each generated file, write them, an out-of-date badge, and
 * tag suggestions for untagged cells. */
import { h, replace } from './dom';
import { NbprodRequestError } from './request';
import { ISectionContext, Section } from './section';
import { cellTags, setCellTags } from './tags';

/** One generated file, as `nbprod export --output-format json` prints it. */
interface IExportFile {
  path: string;
  status: string;
  kind: string;
  content?: string;
  diff?: string;
}

interface IExportReport {
  files: IExportFile[];
  written: number;
  out_of_date: number;
  warnings: string[];
}

interface ISuggestion {
  cell: number;
  cell_id: string;
  first_line: string;
  tag: string;
  reason: string;
}

export class ExportSection extends Section {
  private readonly badge: HTMLElement;
  private readonly files: HTMLElement;
  private readonly suggestions: HTMLElement;

  constructor(ctx: ISectionContext) {
    super('export', 'Export', 'export', ctx);
    this.badge = h('span', { className: 'nbprod-badge-state nbprod-export-state' });
    this.toolbar.append(
      this.button('Preview', 'nbprod-export-preview', () => void this.preview()),
      this.button('Write', 'nbprod-export-write', () => void this.write(false)),
      this.button('Suggest tags', 'nbprod-export-suggest', () => void this.suggest()),
      this.badge
    );
    this.files = h('div', { className: 'nbprod-export-files' });
    this.suggestions = h('div', { className: 'nbprod-suggestions' });
  }

  protected onNotebook(): void {
    replace(this.badge);
    this.body.append(this.suggestions, this.files);
    replace(this.files);
    replace(this.suggestions);
    void this.check();
  }

  /** Ask whether the generated files are up to date and show it as a badge. */
  async check(): Promise<void> {
    if (!this.ready) {
      return;
    }
    try {
      const report: IExportReport = await this.ctx.client.exportCheck(this.path);
      const stale = report.out_of_date;
      this.badge.className = `nbprod-badge-state nbprod-export-state ${
        stale ? 'nbprod-state-stale' : 'nbprod-state-ok'
      }`;
      replace(this.badge, stale ? `out of date (${stale})` : 'up to date');
    } catch (error) {
      replace(this.badge);
      if (error instanceof NbprodRequestError && error.status === 400) {
        // Nothing tagged for export yet: not an error worth a red line.
        this.setStatus(error.message, 'info');
      }
    }
  }

  async preview(): Promise<void> {
    if (!this.ready) {
      return;
    }
    await this.busy('Exporting (preview)…', async () => {
      await this.saveFirst();
      const report: IExportReport = await this.ctx.client.exportPreview(this.path);
      this.showFiles(report);
      const count = report.files.length;
      this.setStatus(
        `${count} generated file${count === 1 ? '' : 's'}, ${report.out_of_date} to write`,
        'info'
      );
    });
  }

  async write(force: boolean): Promise<void> {
    if (!this.ready) {
      return;
    }
    this.setStatus('Writing…', 'busy');
    try {
      await this.saveFirst();
      const report: IExportReport = await this.ctx.client.exportWrite(this.path, force);
      this.showFiles(report);
      this.setStatus(`Wrote ${report.written} file${report.written === 1 ? '' : 's'}`, 'info');
    } catch (error) {
      this.showError(error);
      if (error instanceof NbprodRequestError && error.message.includes('--force')) {
        this.status.append(
          ' ',
          this.button('Overwrite anyway', 'nbprod-export-force', () => void this.write(true))
        );
      }
    }
    await this.check();
  }

  async suggest(): Promise<void> {
    if (!this.ready) {
      return;
    }
    await this.busy('Looking for tags to suggest…', async () => {
      await this.saveFirst();
      const answer: { suggestions: ISuggestion[] } = await this.ctx.client.suggestTags(this.path);
      const items = answer.suggestions;
      this.setStatus(items.length ? `${items.length} suggestion(s)` : 'No tags to suggest', 'info');
      replace(
        this.suggestions,
        ...items.map(s =>
          h(
            'div',
            { className: 'nbprod-suggestion', 'data-cell-id': s.cell_id },
            h('code', {}, s.tag),
            ` for cell ${s.cell} (${s.reason}) `,
            this.button('Apply', 'nbprod-suggestion-apply', () => this.apply(s))
          )
        )
      );
    });
  }

  private apply(suggestion: ISuggestion): void {
    const cell = this.notebook?.content.widgets.find(c => c.model.id === suggestion.cell_id);
    if (!cell) {
      this.setStatus(`Cell ${suggestion.cell} is no longer in the notebook`, 'error');
      return;
    }
    const tags = cellTags(cell.model);
    if (!tags.includes(suggestion.tag)) {
      setCellTags(cell.model, [...tags, suggestion.tag]);
    }
    this.suggestions.querySelector(`[data-cell-id="${CSS.escape(suggestion.cell_id)}"]`)?.remove();
  }

  private showFiles(report: IExportReport): void {
    replace(
      this.files,
      ...report.warnings.map(w => h('div', { className: 'nbprod-warning' }, w)),
      ...report.files.map(file =>
        h(
          'details',
          { className: 'nbprod-file', 'data-path': file.path },
          h(
            'summary',
            {},
            file.path,
            ' ',
            h('span', { className: `nbprod-file-status nbprod-file-${file.status}` }, file.status)
          ),
          h('pre', {}, file.content ?? file.diff ?? '')
        )
      )
    );
  }
}
