"""Renderings of a :class:`forensics.analysis.Report`: JSON, Markdown, HTML, terminal."""
