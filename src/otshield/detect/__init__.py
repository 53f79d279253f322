"""Detection: alerts from rules (YAML, tagged with MITRE ATT&CK for ICS), learned baselines,
the zones-and-conduits policy and threat-intelligence indicators, all fed by the same events.

:mod:`.alert` is the alert record and its aggregation, :mod:`.context` what is known about an
address (zone, Purdue level, roles), :mod:`.pipeline` the pass that feeds the detectors.
"""

from otshield.detect.alert import SEVERITIES, Alert, AlertAggregator, AssetRef, make_alert
from otshield.detect.context import AssetContext
from otshield.detect.pipeline import DetectionPipeline, Detector

__all__ = ["SEVERITIES", "Alert", "AlertAggregator", "AssetContext", "AssetRef",
           "DetectionPipeline", "Detector", "make_alert"]
