import { loadConfig } from '../../src/config/load';
import { silentLogger } from '../../src/lib/log';
import { planChange } from '../../src/pipeline/changes';
import { trainCategoryModel } from '../../src/pipeline/category-model';
import { ingest } from '../../src/pipeline/run';
import { routeMail } from '../../src/pipeline/stages/route';
import { categoryModelFor } from '../../src/pipeline/store-reader';
import { openStore } from '../../src/store/open';
import { applyChange, showTicket, ticketByRef } from '../../src/store/tickets';
import { removeTempDirs, tempDir, writeConfigDir } from '../helpers/env';
import { buildMail } from '../helpers/mail';

afterAll(() => removeTempDirs());

const HARDWARE = ['the printer is jammed again', 'printer toner empty', 'my laptop screen flickers', 'la impresora no imprime', 'monitor cable broken', 'keyboard keys stuck', 'printer paper tray broken', 'laptop battery dead'];
const SOFTWARE = ['cannot log in to the vpn', 'outlook crashes on start', 'password reset needed', 'excel macro error', 'vpn disconnects every hour', 'sap login fails', 'outlook calendar not syncing', 'contraseña caducada'];

describe('category prediction', () => {
  it('trains on categorised tickets and predicts the category of a new one', () => {
    const model = trainCategoryModel([...HARDWARE.map((text) => ({ text, category: 'hardware' })), ...SOFTWARE.map((text) => ({ text, category: 'software' }))]);
    expect(model?.predict('the printer on floor 2 is jammed')?.category).toBe('hardware');
    expect(model?.predict('vpn password does not work')?.category).toBe('software');
    expect(trainCategoryModel([{ text: 'x', category: 'only' }])).toBeNull();
  });

  it('uses rule-categorised past tickets, above the confidence threshold, and learns from staff recategorisation', async () => {
    const rules = 'rules:\n  - { name: hw, when: { subject: { any: [printer, laptop, impresora, monitor, keyboard] } }, then: { category: hardware } }\n  - { name: sw, when: { subject: { any: [vpn, outlook, password, excel, sap, contraseña] } }, then: { category: software } }\n';
    const helpdesk = 'helpdesk: { address: support@example.test }\nprediction: { minExamples: 10, minConfidence: 0.6 }\n';
    const dataDir = tempDir('hd-cat-');
    let store = openStore(dataDir);
    let config = loadConfig(writeConfigDir({ 'helpdesk.yaml': helpdesk, 'rules.yaml': rules }), {});
    let n = 0;
    const send = async (subject: string) => {
      const models = categoryModelFor(store);
      const r = await ingest({ bytes: buildMail({ subject, messageId: `<c${n++}@x.test>`, from: `c${n}@x.test`, body: subject }), source: 't', position: null, mailbox: null }, { config, store, log: silentLogger(), categoryModel: models.current });
      return showTicket(store.db, r.ticket as string);
    };
    for (const s of [...HARDWARE, ...SOFTWARE]) await send(s);
    // Rules gone: what remains is what the tickets taught.
    config = loadConfig(writeConfigDir({ 'helpdesk.yaml': helpdesk, 'rules.yaml': 'rules: []\n' }), {});
    const t = await send('Printer jammed, toner everywhere');
    expect(t?.category).toBe('hardware');
    expect(t?.events[0].reason).toMatch(/category: predicted from 16 past tickets \(confidence 0\.\d+\)/);
    const vague = await send('hello');
    expect(vague?.category).toBe('general');

    // Staff move every printer ticket to a new category; the model follows.
    for (const ref of ['HD-1', 'HD-2', 'HD-4', 'HD-7']) {
      const row = ticketByRef(store.db, ref);
      if (!row) throw new Error(ref);
      applyChange(store.db, row.id, planChange(row, 'category', 'printing', config, Date.now()), 'cli:test', Date.now(), null);
    }
    store.close();
    store = openStore(dataDir);
    // Printing and hardware now share the printer words, so the guess is less sure.
    config = loadConfig(writeConfigDir({ 'helpdesk.yaml': helpdesk.replace('minConfidence: 0.6', 'minConfidence: 0.45'), 'rules.yaml': 'rules: []\n' }), {});
    const moved = await send('printer out of toner');
    expect(moved?.category).toBe('printing');
    expect(moved?.events[0].reason).toMatch(/predicted from 16 past tickets/);
    store.close();
  });
});

describe('rules on the predicted category', () => {
  it('lets a rule route by the category the model predicts', () => {
    const config = loadConfig(
      writeConfigDir({
        'helpdesk.yaml': 'helpdesk: { address: support@example.test }\nprediction: { minExamples: 4 }\n',
        'rules.yaml': 'rules:\n  - { name: hardware queue, when: { category: hardware }, then: { queue: hardware } }\n',
      }),
      {},
    );
    const model = trainCategoryModel([...HARDWARE.map((text) => ({ text, category: 'hardware' })), ...SOFTWARE.map((text) => ({ text, category: 'software' }))]);
    const mail = { messageId: '<p@x>', messageIdSynthetic: false, inReplyTo: null, references: [], from: { address: 'a@x.test', name: '' }, to: [], cc: [], replyTo: [], subject: 'printer jammed', text: 'the printer toner', html: null, date: null, headers: [], attachments: [] };
    const r = routeMail(mail, config, 0, model);
    expect(r.category).toMatchObject({ value: 'hardware', source: 'predicted' });
    expect(r.queue).toEqual({ value: 'hardware', reason: 'rule "hardware queue"' });
  });
});
