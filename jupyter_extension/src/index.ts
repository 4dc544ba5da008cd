/**
 * nbprod for JupyterLab: the client plugin (provides `INbprodClient`) and the UI plugin
 * (the sidebar, the cell tag editor, the cell badges, lint on save).
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, MainAreaWidget, ToolbarButton } from '@jupyterlab/apputils';
import { ILauncher } from '@jupyterlab/launcher';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { buildIcon, tagIcon } from '@jupyterlab/ui-components';

import { cellIndex } from './cells';
import { NbprodClient } from './client';
import { ExportSection } from './export';
import { LintSection } from './lint';
import { pageTab } from './page';
import { NbprodView } from './view';
import { NbprodPanel } from './panel';
import { NbprodRequestError } from './request';
import { RunSection } from './run';
import { RunsSection } from './runs';
import { ServeSection } from './serve';
import { ISectionContext, Section } from './section';
import { CellBadges, editActiveCellTags } from './tags';
import { INbprodClient } from './tokens';

/** The command ids of nbprod. */
export namespace CommandIDs {
  export const editTags = 'nbprod:edit-tags';
  export const lint = 'nbprod:lint';
  export const fix = 'nbprod:fix';
  export const exportWrite = 'nbprod:export';
  export const run = 'nbprod:run';
  export const openRuns = 'nbprod:open-runs';
  export const openPanel = 'nbprod:open-panel';
  export const openView = 'nbprod:open-view';
}

/** The commands the palette lists under "nbprod" (and the nbprod menu shows). */
const PALETTE = [
  CommandIDs.lint,
  CommandIDs.fix,
  CommandIDs.editTags,
  CommandIDs.exportWrite,
  CommandIDs.run,
  CommandIDs.openRuns,
  CommandIDs.openView,
  CommandIDs.openPanel
];

const clientPlugin: JupyterFrontEndPlugin<INbprodClient> = {
  id: 'nbprod:client',
  description: 'The client of the nbprod server extension.',
  autoStart: true,
  provides: INbprodClient,
  activate: (app: JupyterFrontEnd) => new NbprodClient(app.serviceManager.serverSettings)
};

/** Select and scroll to the cell the server names (by id, or by position in a notebook
 * without ids: `cellIndex`), and put the notebook in front. */
function goToCell(
  app: JupyterFrontEnd,
  panel: NotebookPanel,
  cellId: string | null,
  position: number | null
): boolean {
  const notebook = panel.content;
  const index = cellIndex(notebook.widgets.map(cell => cell.model.id), cellId, position);
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
  optional: [ISettingRegistry, ICommandPalette, ILauncher],
  activate: (
    app: JupyterFrontEnd,
    client: INbprodClient,
    tracker: INotebookTracker,
    settingRegistry: ISettingRegistry | null,
    palette: ICommandPalette | null,
    launcher: ILauncher | null
  ) => {
    let lintOnSave = true;
    // The nbprod views open in the main area; each follows its notebook's renames and moves.
    let viewCount = 0;
    const views = () =>
      Array.from(app.shell.widgets('main')).filter(
        (w): w is MainAreaWidget<NbprodView> => w instanceof MainAreaWidget && w.content instanceof NbprodView
      );
    app.serviceManager.contents.fileChanged.connect((_, change) => {
      const from = change.type === 'rename' ? change.oldValue?.path : undefined;
      const to = change.type === 'rename' ? change.newValue?.path : undefined;
      if (!from || !to) {
        return;
      }
      for (const view of views()) {
        const path = view.content.path;
        // The notebook itself, or a folder it is in.
        if (path === from || path.startsWith(`${from}/`)) {
          view.content.setPath(to + path.slice(from.length));
        }
      }
    });
    const ctx: ISectionContext = {
      client,
      open: async path => {
        await app.commands.execute('docmanager:open', { path });
      },
      goToCell: (panel, cellId, position) => goToCell(app, panel, cellId, position),
      openView: path => {
        const existing = views().find(w => w.content.path === path);
        if (existing) {
          app.shell.activateById(existing.id);
          return;
        }
        const view = new MainAreaWidget({ content: new NbprodView(client, path, ctx.openPage) });
        view.id = `nbprod-view-${++viewCount}`;
        view.title.icon = buildIcon;
        view.title.closable = true;
        view.addClass('nbprod-view-tab-widget');
        app.shell.add(view, 'main');
        app.shell.activateById(view.id);
      },
      saveText: async (path, text) => {
        await app.serviceManager.contents.save(path, { type: 'file', format: 'text', content: text });
      },
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
    const serve = new ServeSection(ctx);
    run.onRunEnded = () => void runs.refresh();
    const sections: Section[] = [lint, exporter, run, runs, serve];
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
    const hasNotebook = () => !!tracker.currentWidget;
    const inPanel = (section: Section, action: () => Promise<void>) => async () => {
      app.shell.activateById(panel.id);
      if (section.hasClass('nbprod-folded')) {
        section.toggleFolded();
      }
      section.node.scrollIntoView({ block: 'nearest' });
      await action();
    };
    app.commands.addCommand(CommandIDs.lint, {
      label: 'Lint Notebook with nbprod',
      caption: 'Find what breaks when someone else reruns this notebook',
      isEnabled: hasNotebook,
      execute: inPanel(lint, () => lint.lint())
    });
    app.commands.addCommand(CommandIDs.fix, {
      label: 'Fix Notebook with nbprod',
      caption: 'Apply the safe fixes of nbprod and ruff',
      isEnabled: hasNotebook,
      execute: inPanel(lint, () => lint.fix())
    });
    app.commands.addCommand(CommandIDs.exportWrite, {
      label: 'Export Notebook with nbprod',
      caption: 'Write the module, tests and pipeline of the tagged cells',
      isEnabled: hasNotebook,
      execute: inPanel(exporter, () => exporter.write(false))
    });
    app.commands.addCommand(CommandIDs.run, {
      label: 'Run Notebook with nbprod',
      caption: 'Run with the parameters of the Run form and keep a receipt',
      isEnabled: hasNotebook,
      execute: inPanel(run, () => run.start())
    });
    app.commands.addCommand(CommandIDs.openRuns, {
      label: 'Show the Runs of this Notebook',
      isEnabled: hasNotebook,
      execute: inPanel(runs, () => runs.refresh())
    });
    app.commands.addCommand(CommandIDs.openView, {
      label: args =>
        args.isLauncher
          ? `nbprod: ${tracker.currentWidget?.context.path.split('/').pop() ?? 'open a notebook'}`
          : 'Open the nbprod View of this Notebook',
      icon: args => (args.isLauncher ? buildIcon : undefined),
      caption: 'Runs as a table and a chart, the pipeline drawn, the lineage of a run',
      isEnabled: hasNotebook,
      execute: () => {
        const current = tracker.currentWidget;
        if (current) {
          ctx.openView(current.context.path);
        }
      }
    });
    app.commands.addCommand(CommandIDs.openPanel, {
      label: 'Show the nbprod Panel',
      execute: () => app.shell.activateById(panel.id)
    });
    if (palette) {
      for (const command of PALETTE) {
        palette.addItem({ command, category: 'nbprod' });
      }
    }
    if (launcher) {
      // The view of the notebook last in front: runs, pipeline, lineage.
      launcher.add({ command: CommandIDs.openView, args: { isLauncher: true }, category: 'Other', rank: 90 });
    }
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
