// A real SMTP server for the notification tests (npm `smtp-server`), parsing what it
// receives with `mailparser` and any calendar attachment with `ical.js`.
// Prints `LISTENING <port>` once ready, then one JSON line per message received.
// Usage: node end2end/tools/smtp-peer.mjs [user password]
// With SMTP_TLS=implicit or SMTP_TLS=starttls (and SMTP_TLS_KEY, SMTP_TLS_CERT files)
// it speaks TLS from the first byte, or offers STARTTLS and requires it.
import fs from 'node:fs';
import { SMTPServer } from 'smtp-server';
import { simpleParser } from 'mailparser';
import ICAL from 'ical.js';

const [user, password] = process.argv.slice(2);

function calendar(text) {
  const root = new ICAL.Component(ICAL.parse(text));
  const event = root.getFirstSubcomponent('vevent');
  return {
    method: root.getFirstPropertyValue('method'),
    uid: event.getFirstPropertyValue('uid'),
    summary: event.getFirstPropertyValue('summary'),
    status: event.getFirstPropertyValue('status'),
    sequence: event.getFirstPropertyValue('sequence'),
    start: event.getFirstPropertyValue('dtstart').toJSDate().toISOString(),
  };
}

const tls = process.env.SMTP_TLS;
const keys = tls
  ? { key: fs.readFileSync(process.env.SMTP_TLS_KEY), cert: fs.readFileSync(process.env.SMTP_TLS_CERT) }
  : {};
const server = new SMTPServer({
  ...keys,
  secure: tls === 'implicit',
  disabledCommands: tls ? [] : ['STARTTLS'],
  authOptional: !user,
  // Without TLS (a local relay) credentials may cross in the clear; with it, never.
  allowInsecureAuth: !tls,
  onAuth(auth, _session, callback) {
    if (auth.username === user && auth.password === password) return callback(null, { user });
    return callback(new Error('Invalid username or password'));
  },
  onMailFrom(_address, session, callback) {
    if (tls === 'starttls' && !session.secure) return callback(new Error('Must issue a STARTTLS command first'));
    return callback();
  },
  async onData(stream, session, callback) {
    try {
      const mail = await simpleParser(stream);
      const out = {
        envelope_to: session.envelope.rcptTo.map((r) => r.address),
        secure: Boolean(session.secure),
        from: mail.from?.text,
        to: mail.to?.text,
        subject: mail.subject,
        content_type: mail.headers.get('content-type')?.value,
        text: mail.text,
        html: mail.html || null,
        attachments: mail.attachments.map((a) => ({
          filename: a.filename,
          content_type: a.contentType,
          method: a.contentType === 'text/calendar' ? a.headers.get('content-type')?.params?.method : undefined,
          calendar: a.contentType === 'text/calendar' ? calendar(a.content.toString('utf8')) : undefined,
        })),
      };
      process.stdout.write(JSON.stringify(out) + '\n');
      callback();
    } catch (e) {
      process.stdout.write(JSON.stringify({ error: String(e) }) + '\n');
      callback(e);
    }
  },
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`LISTENING ${server.server.address().port}\n`);
});
