"""Conventions every layer shares, written once: the data's agent and customer columns, the NPS
categories and the survey screen's default z."""
from __future__ import annotations

#: The agent column of contacts and agents (the grouping factor of every agent model).
AGENT = "agent_id"
#: The customer column of contacts (the crossed customer term where customers answer more than once).
CUSTOMER = "customer_id"

#: NPS 9–10 are promoters, 0–6 detractors (7–8 passives).
PROMOTER_MIN = 9
DETRACTOR_MAX = 6

#: The survey screen's one-sided z (study parameter `screen_z`), calibrated on simulated operations so that
#: ordinary agents are flagged about 1.5% of the time on average (analysis/screen.py's docstring;
#: benchmarks/screen_calibration.py).
SCREEN_Z = 1.81
