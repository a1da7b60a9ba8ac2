"""Parses an iCalendar feed from stdin with PyPI `icalendar` and prints its calendar
properties and events as JSON (the same shape as ical-parse.mjs)."""
import json
import sys
from datetime import timezone

from icalendar import Calendar


def iso(value):
    return value.dt.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def text(component, name):
    value = component.get(name)
    return None if value is None else str(value)


cal = Calendar.from_ical(sys.stdin.buffer.read())
events = [
    {
        "uid": text(e, "UID"),
        "summary": text(e, "SUMMARY"),
        "description": text(e, "DESCRIPTION"),
        "location": text(e, "LOCATION"),
        "status": text(e, "STATUS"),
        "sequence": int(e.get("SEQUENCE")),
        "start": iso(e.get("DTSTART")),
        "end": iso(e.get("DTEND")),
    }
    for e in cal.walk("VEVENT")
]
print(json.dumps({
    "name": text(cal, "X-WR-CALNAME"),
    "method": text(cal, "METHOD"),
    "events": events,
}))
