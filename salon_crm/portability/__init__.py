"""The whole-salon export and import (issue 16, item 5: no lock-in).

One ZIP archive holds every table of salon data twice: `<app>/<model>.json` (a JSON array of
objects, the lossless form `import_salon` reads back) and `<app>/<model>.csv` (UTF-8 with BOM
for Excel, spreadsheet-safe cells), with `manifest.json` (format version, row counts, a SHA-256
per file). The tables are discovered from the app registry, so a new model is exported by
default; `tables.EXCLUDED_MODELS` lists, with the reason, what is left out. The format is
documented in docs/export-format.md, whose column reference `tables.describe_format()` writes.

- `tables`: which models, which columns, in which order; the format reference.
- `codec`: one value to JSON / a CSV cell and back, with the checks an import needs.
- `exporter.salon_export`: the archive, read in one snapshot, streamed to a file on disk.
- `importer.salon_import`: the archive into an empty install, all or nothing.
- `views`: the owner's "Export all data" page. Import is a command only (an empty install has
  no owner to log in).
"""
