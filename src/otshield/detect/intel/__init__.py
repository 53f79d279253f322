"""Threat intelligence: indicators from STIX 2.1 bundles and CSV lists (IP addresses,
networks, domain names, URLs, file digests) matched against decoded traffic.

    indicators = load_indicators([Path("feed.json"), Path("blocklist.csv")])
    detector = IntelDetector(indicators, context, sink)

:mod:`.loader` reads the files (:mod:`.stix`, :mod:`.csvlist`), :mod:`.model` holds and
indexes the indicators, :mod:`.normalize` gives each value one spelling, :mod:`.detector`
matches events and raises the alerts, :mod:`.cli` is ``otshield intel check|match``.
"""

from otshield.detect.intel.detector import IntelDetector
from otshield.detect.intel.loader import load_indicators
from otshield.detect.intel.model import KINDS, Indicator, IndicatorSet, Skipped, Term

__all__ = ["KINDS", "Indicator", "IndicatorSet", "IntelDetector", "Skipped", "Term",
           "load_indicators"]
