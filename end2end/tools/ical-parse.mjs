// Parses an iCalendar feed from stdin with npm `ical.js` (strictly: a parse error
// exits non-zero) and prints its calendar properties and events as JSON.
import ICAL from 'ical.js';

let text = '';
process.stdin.setEncoding('utf8');
for await (const chunk of process.stdin) text += chunk;
const root = new ICAL.Component(ICAL.parse(text));
const events = root.getAllSubcomponents('vevent').map((e) => ({
  uid: e.getFirstPropertyValue('uid'),
  summary: e.getFirstPropertyValue('summary'),
  description: e.getFirstPropertyValue('description'),
  location: e.getFirstPropertyValue('location'),
  status: e.getFirstPropertyValue('status'),
  sequence: e.getFirstPropertyValue('sequence'),
  start: e.getFirstPropertyValue('dtstart').toJSDate().toISOString(),
  end: e.getFirstPropertyValue('dtend').toJSDate().toISOString(),
}));
console.log(JSON.stringify({
  name: root.getFirstPropertyValue('x-wr-calname'),
  method: root.getFirstPropertyValue('method'),
  refresh: String(root.getFirstPropertyValue('refresh-interval')),
  events,
}));
