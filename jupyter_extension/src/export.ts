/** The Export section: preview each generated file, write them, an out-of-date badge, and
 * tag suggestions for untagged cells. */
import { cellIndex } from './cells';
import { h, replace } from './dom';
import { NbprodRequestError } from './request';
import { ISectionContext, Section } from './section';
import { cellTags, setCellTags } from './tags';
import type { IExportReport, IExportWritten, ISuggestion } from './api';
import { isRunOutput, sourceOf } from './tokens';

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
    const output = this.notebook !== null && isRunOutput(this.path);
    this.toggleClass('nbprod-run-output', output);
    if (output) {
      // A run's result is not a source: exporting it would generate a second module.
      this.setStatus(
        `This is the executed copy of a run. Export its source notebook (${sourceOf(this.path)}).`,
        'info'
      );
      return;
    }
    void this.check();
  }

  protected get ready(): boolean {
    return super.ready && !isRunOutput(this.path);
  }

  /** Ask whether the generated files are up to date and show it as a badge. */
  async check(): Promise<void> {
    if (!this.ready) {
      return;
    }
    const panel = this.notebook;
    try {
      const report: IExportReport = await this.ctx.client.exportCheck(this.path);
      if (!this.owns(panel)) {
        return;
      }
      const stale = report.out_of_date;
      const nothing = !report.files.length;
      this.badge.className = `nbprod-badge-state nbprod-export-state ${
        stale ? 'nbprod-state-stale' : nothing ? 'nbprod-state-none' : 'nbprod-state-ok'
      }`;
      replace(
        this.badge,
        stale ? `out of date (${stale})` : nothing ? 'nothing to export' : 'up to date'
      );
    } catch (error) {
      if (!this.owns(panel)) {
        return;
      }
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
    const panel = this.notebook;
    await this.busy('Exporting (preview)…', async () => {
      await this.saveFirst();
      const report: IExportReport = await this.ctx.client.exportPreview(this.path);
      if (!this.owns(panel)) {
        return;
      }
      this.showFiles(report);
      const count = report.files.length;
      this.setStatus(
        count
          ? `${count} generated file${count === 1 ? '' : 's'}, ${report.out_of_date} to write`
          : 'Nothing to export: no cell is tagged export, test or step. Suggest tags proposes some.',
        'info'
      );
    });
  }

  async write(force: boolean): Promise<void> {
    if (!this.ready) {
      return;
    }
    this.setStatus('Writing…', 'busy');
    const panel = this.notebook;
    try {
      await this.saveFirst();
      const report = await this.ctx.client.exportWrite(this.path, force);
      if (!this.owns(panel)) {
        return;
      }
      this.showFiles(report);
      this.setStatus(`Wrote ${report.written} file${report.written === 1 ? '' : 's'}`, 'info');
    } catch (error) {
      if (!this.owns(panel)) {
        return;
      }
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
    const panel = this.notebook;
    await this.busy('Looking for tags to suggest…', async () => {
      await this.saveFirst();
      const answer = await this.ctx.client.suggestTags(this.path);
      if (!this.owns(panel)) {
        return;
      }
      const items = answer.suggestions;
      const count = items.length;
      this.setStatus(count ? `${count} suggestion${count === 1 ? '' : 's'}` : 'No tags to suggest', 'info');
      // A real notebook gets dozens: one click applies them all (each stays undoable).
      const applyAll = this.button('Apply all', 'nbprod-suggestion-apply-all', () => {
        items.forEach(s => this.apply(s));
        applyAll.remove();
      });
      replace(
        this.suggestions,
        count > 1 ? applyAll : null,
        ...items.map(s =>
          h(
            'div',
            { className: 'nbprod-suggestion', 'data-cell-id': s.cell_id, 'data-cell': s.cell },
            h('code', {}, s.tag),
            ` for cell ${s.cell} (${s.reason}) `,
            this.button('Apply', 'nbprod-suggestion-apply', () => this.apply(s))
          )
        )
      );
    });
  }

  private apply(suggestion: ISuggestion): void {
    const widgets = this.notebook?.content.widgets ?? [];
    const cell = widgets[cellIndex(widgets.map(c => c.model.id), suggestion.cell_id, suggestion.cell)];
    if (!cell) {
      this.setStatus(`Cell ${suggestion.cell} is no longer in the notebook`, 'error');
      return;
    }
    const tags = cellTags(cell.model);
    if (!tags.includes(suggestion.tag)) {
      setCellTags(cell.model, [...tags, suggestion.tag]);
    }
    this.suggestions.querySelector(`[data-cell="${suggestion.cell}"]`)?.remove();
  }

  private showFiles(report: IExportReport | IExportWritten): void {
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
