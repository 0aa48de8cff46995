"""The HTML report (mne.Report) and its figures.

:func:`build_report` writes one self-contained page from a :class:`ReportData`; the figure
functions in :mod:`neurorrn.report.figures` work on labelled results and can be used alone.
"""

from ._report import (SECTIONS, ReportData, build_report, group_shift_null, summarize_gain, summarize_shift_null,
                      versions)

__all__ = ["SECTIONS", "ReportData", "build_report", "summarize_gain", "summarize_shift_null", "group_shift_null",
           "versions"]
