"""``report``: the legal-review report of a sealed archive. Thin: parse, call the core, print."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from evidence_kit.cli.options import archive_options, consequences, verify_options
from evidence_kit.cli.seal_cmd import NOT_VERIFIED


@click.command()
@click.argument("archive", type=click.Path(path_type=Path))
@click.option("--output", "-o", required=True, type=click.Path(path_type=Path),
              help="Report to write: NAME.html (self-contained page) or NAME.pdf (printed by headless Chromium).")
@archive_options
@click.option("--paper", type=click.Choice(["A4", "Letter"], case_sensitive=False), default="A4", show_default=True,
              help="Paper size for the PDF and for printing the HTML.")
@click.option("--browser", metavar="PATH", help="Chromium executable for the PDF (default: found automatically).")
@click.option("--compact-images", is_flag=True,
              help="Embed screenshots as lossless WebP (the same pixels, about a quarter of the size) instead of "
                   "the archived PNG bytes. The report says so beside each one.")
@consequences(unexpected=NOT_VERIFIED)
def report(archive: Path, output: Path, as_json: bool, paper: str, browser: str | None, compact_images: bool,
           **archive_opts: Any) -> Any:
    """Write a report of ARCHIVE for legal review, re-running every verify check.

    Exit 0 when every check passed, 1 when one failed (the report says so on its cover), 2 on
    usage errors or a key that cannot open the archive.
    """
    import json

    from evidence_kit.report.make import make_report, output_format

    output_format(output)  # a wrong name fails before the passphrase prompt
    options = verify_options(archive, **archive_opts)
    result = make_report(options, output, paper=paper, browser=browser, compact_images=compact_images)
    if as_json:
        click.echo(json.dumps({**result.__dict__, "output": str(result.output)}, indent=2))
    else:
        pages = f", {result.pages} pages" if result.pages else ""
        click.echo(f"report written: {result.output} ({result.format}, {result.size} bytes{pages}, "
                   f"{result.targets} targets, {result.screenshots} screenshots, {result.seconds:.1f} s)")
        if result.ok:
            click.echo("all verification checks passed")
        else:
            click.echo(f"VERIFICATION FAILED: {', '.join(result.failed_checks)} (the report says so on its cover)",
                       err=True)
    return result
