"""Fill the zh_Hans catalogue from the glossaries (locale/zh_Hans/glossary/*.json, msgid -> text).

`make messages` runs makemessages, then this, then compilemessages. A string with a context
(pgettext) is keyed "context\u0004msgid". Glossaries are per app so
parallel work doesn't collide; the .po stays the file Django reads. Prints msgids still empty.
"""

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "locale/zh_Hans/LC_MESSAGES/django.po"


def unquote(s: str) -> str:
    return json.loads(s)


def quote(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def parse(lines):
    """Yield entries as dicts with the raw line span and the msgid/msgstr values."""
    entries, cur, key, context = [], None, None, ""
    for i, line in enumerate(lines):
        if line.startswith("msgctxt "):
            context = unquote(line[8:])
        elif line.startswith("msgid "):
            cur = {"start": i, "msgid": unquote(line[6:]), "msgstr": "", "context": context}
            context = ""
            key = "msgid"
        elif line.startswith("msgid_plural ") and cur:
            key = "plural"
        elif line.startswith("msgstr") and cur:
            key = "msgstr"
            cur["msgstr_start"] = i
            m = re.match(r'msgstr(\[\d\])? (".*")$', line)
            cur["msgstr"] += unquote(m.group(2))
        elif line.startswith('"') and cur and key in ("msgid", "msgstr"):
            cur[key] += unquote(line)
        elif not line.strip() and cur:
            cur["end"] = i
            entries.append(cur)
            cur, key = None, None
    if cur:
        cur["end"] = len(lines)
        entries.append(cur)
    return entries


def main() -> int:
    glossary: dict[str, str] = {}
    for path in sorted((ROOT / "locale/zh_Hans/glossary").glob("*.json")):
        glossary.update(json.loads(path.read_text(encoding="utf-8")))
    # The glossary is the source of truth: every msgstr is rewritten from it (or left empty),
    # so fuzzy guesses from makemessages never reach the screen.
    lines = [ln for ln in PO.read_text(encoding="utf-8").split("\n") if not ln.startswith(("#, fuzzy", "#|"))]
    out, last, missing = [], 0, []
    for e in parse(lines):
        if not e["msgid"]:
            continue
        # pgettext: the glossary's key is "context\u0004msgid" (gettext's own separator)
        msgid = f"{e['context']}\u0004{e['msgid']}" if e["context"] else e["msgid"]
        text = glossary.get(msgid, "")
        if not text:
            missing.append(msgid)
        out.extend(lines[last : e["msgstr_start"]])
        if lines[e["msgstr_start"]].startswith("msgstr["):
            out.append(f"msgstr[0] {quote(text)}")
        else:
            out.append(f"msgstr {quote(text)}")
        last = e["end"]
    out.extend(lines[last:])
    PO.write_text("\n".join(out), encoding="utf-8")
    for m in missing:
        print(f"untranslated: {m!r}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
