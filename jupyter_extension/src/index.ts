/**
 * nbprod for JupyterLab: the client plugin (provides `INbprodClient`) and the UI plugin
 * (the sidebar, the cell tag editor, the cell badges, lint on save).
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ToolbarButton } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { buildIcon, tagIcon } from '@jupyterlab/ui-components';

import { NbprodClient } from './client';
import { ExportSection } from './export';
import { LintSection } from './lint';
import { pageTab } from './page';
import { NbprodPanel } from './panel';
import { NbprodRequestError } from './request';
import { RunSection } from './run';
import { RunsSection } from './runs';
import { ISectionContext, Section } from './section';
import { CellBadges, editActiveCellTags } from './tags';
import { INbprodClient } from './tokens';

/** The command ids of nbprod. */
export namespace CommandIDs {
  export const editTags = 'nbprod:edit-tags';
  export const lint = 'nbprod:lint';
  export const openPanel = 'nbprod:open-panel';
}

const clientPlugin: JupyterFrontEndPlugin<INbprodClient> = {
  id: 'nbprod:client',
  description: 'The client of the nbprod server extension.',
  autoStart: true,
  provides: INbprodClient,
  activate: (app: JupyterFrontEnd) => new NbprodClient(app.serviceManager.serverSettings)
};

/** Select and scroll to the cell with id `cellId`, and put the notebook in front. */
function goToCell(app: JupyterFrontEnd, panel: NotebookPanel, cellId: string): boolean {
  const notebook = panel.content;
  const index = notebook.widgets.findIndex(cell => cell.model.id === cellId);
  if (index < 0) {
    return false;
  }
  app.shell.activateById(panel.id);
  notebook.deselectAll();
  notebook.activeCellIndex = index;
  notebook.mode = 'command';
  const cell = notebook.widgets[index];
  void notebook.scrollToCell(cell, 'center');
  cell.addClass('nbprod-flash');
  setTimeout(() => cell.removeClass('nbprod-flash'), 1500);
  return true;
}

const uiPlugin: JupyterFrontEndPlugin<void> = {
  id: 'nbprod:plugin',
  description: 'The nbprod sidebar, cell tag editor and cell badges.',
  autoStart: true,
  requires: [INbprodClient, INotebookTracker],
  optional: [ISettingRegistry],
  activate: (
    app: JupyterFrontEnd,
    client: INbprodClient,
    tracker: INotebookTracker,
    settingRegistry: ISettingRegistry | null
  ) => {
    let lintOnSave = true;
    const ctx: ISectionContext = {
      client,
      open: async path => {
        await app.commands.execute('docmanager:open', { path });
      },
      goToCell: (panel, cellId) => goToCell(app, panel, cellId),
      openPage: (id, title, html) => {
        const existing = Array.from(app.shell.widgets('main')).find(w => w.id === id);
        existing?.dispose();
        app.shell.add(pageTab(id, title, html), 'main');
        app.shell.activateById(id);
      }
    };
    const lint = new LintSection(ctx);
    const exporter = new ExportSection(ctx);
    const run = new RunSection(ctx);
    const runs = new RunsSection(ctx);
    run.onRunEnded = () => void runs.refresh();
    const sections: Section[] = [lint, exporter, run, runs];
    const panel = new NbprodPanel(sections);
    panel.title.icon = buildIcon;
    panel.title.caption = 'nbprod';
    app.shell.add(panel, 'left', { rank: 900 });

    client
      .info()
      .then(info => sections.forEach(s => s.setAvailable(info.commands)))
      .catch((error: unknown) => {
        const message = error instanceof NbprodRequestError ? error.message : String(error);
        panel.setNotice(message);
        sections.forEach(s => s.setAvailable([]));
      });

    const follow = () => panel.setNotebook(tracker.currentWidget);
    tracker.currentChanged.connect(follow);
    follow();

    tracker.widgetAdded.connect((_, notebook) => {
      new CellBadges(notebook);
      notebook.context.saveState.connect((_, state) => {
        if (state === 'completed' && tracker.currentWidget === notebook) {
          if (lintOnSave) {
            void lint.lint();
          }
          void exporter.check();
        }
      });
    });

    app.commands.addCommand(CommandIDs.editTags, {
      label: 'Edit nbprod Tags…',
      caption: 'Mark the active cell as parameters, export, test, step:<name> or skip',
      icon: tagIcon,
      isEnabled: () => !!tracker.currentWidget?.content.activeCell,
      execute: async () => {
        const current = tracker.currentWidget;
        if (current) {
          await editActiveCellTags(current);
        }
      }
    });
    app.commands.addCommand(CommandIDs.lint, {
      label: 'Lint Notebook with nbprod',
      execute: () => lint.lint()
    });
    app.commands.addCommand(CommandIDs.openPanel, {
      label: 'Show the nbprod Panel',
      execute: () => app.shell.activateById(panel.id)
    });
    app.contextMenu.addItem({
      command: CommandIDs.editTags,
      selector: '.jp-Notebook .jp-Cell',
      rank: 20
    });
    app.docRegistry.addWidgetExtension('Notebook', {
      createNew: (widget: NotebookPanel) => {
        const button = new ToolbarButton({
          className: 'nbprod-tag-button',
          icon: tagIcon,
          tooltip: 'Edit the nbprod tags of the active cell',
          onClick: () => void editActiveCellTags(widget)
        });
        widget.toolbar.insertAfter('cellType', 'nbprodTags', button);
        return button;
      }
    });

    if (settingRegistry) {
      settingRegistry
        .load(uiPlugin.id)
        .then(settings => {
          const update = () => {
            lintOnSave = settings.get('lintOnSave').composite as boolean;
            run.pollIntervalMs = settings.get('pollIntervalMs').composite as number;
          };
          update();
          settings.changed.connect(update);
        })
        .catch(error => console.warn('nbprod: cannot load settings', error));
    }
  }
};

export default [clientPlugin, uiPlugin];
