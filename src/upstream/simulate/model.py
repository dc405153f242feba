"""The simulator's generating model: effect sizes and shares of the contact mix, the cumulative-logit
CSAT model and its expectation. Shared by the generator (``operation``) and the truth (``truth``)."""
from __future__ import annotations

import numpy as np

CSAT_THRESHOLDS = (-2.9, -2.3, -1.6, -0.5)
NPS_THRESHOLDS = (-4.1, -3.7, -3.3, -2.9, -2.5, -2.1, -1.6, -1.0, -0.4, 0.5)
UNRESOLVED_PENALTY = -0.8
ESCALATION_PENALTY = -0.3
CREDIT_BONUS = 0.25                 # latent effect of a credit of 25 ...
CREDIT_DOSE = 0.1                   # ... plus this per doubling of the amount
NPS_LOADING = 0.8

# policy: (latent effect on satisfaction, share of contacts)
POLICIES = {
    "standard": (0.0, 0.40),
    "refund above cap": (-1.0, 0.07),
    "warranty expired": (-0.8, 0.07),
    "return window exceeded": (-0.7, 0.05),
    "replacement part backorder": (-0.6, 0.05),
    "account security hold": (-0.5, 0.05),
    "billing dispute": (-0.3, 0.07),
    "shipping delay claim": (-0.2, 0.06),
    "subscription cancellation": (-0.1, 0.06),
    "data deletion request": (0.0, 0.03),
    "price match": (0.2, 0.04),
    "loyalty credit": (0.4, 0.05),
}
PRODUCTS = {  # one product is broken
    "Router X1": (0.0, 0.20), "Router X2": (-0.6, 0.12), "Mesh Kit": (0.1, 0.12),
    "Smart Plug": (0.05, 0.10), "Camera C3": (-0.2, 0.12), "Doorbell D1": (0.0, 0.10),
    "Thermostat T2": (0.15, 0.12), "Hub H1": (-0.1, 0.12),
}
CHANNELS = {  # latent effect, share, median handle time (s)
    "phone": (0.1, 0.35, 480.0), "chat": (0.0, 0.30, 600.0),
    "email": (-0.3, 0.25, 300.0), "messaging": (0.05, 0.10, 420.0),
}
ISSUE_TYPES = {  # latent effect, share, complexity
    "how-to": (0.2, 0.20, -0.5), "billing": (-0.1, 0.22, 0.0), "delivery": (-0.1, 0.15, 0.0),
    "account": (0.0, 0.13, 0.0), "defect": (-0.3, 0.20, 0.7), "returns": (-0.2, 0.10, 0.5),
}
SITES = ("Leeds", "Manila", "Austin")


def logistic(x):
    return 1.0 / (1.0 + np.exp(-x))


def ordinal_draw(rng, eta, thresholds):
    """Draw 1..K+1 categories from a cumulative-logit model P(Y ≤ k) = logistic(θ_k − η)."""
    latent = eta + rng.logistic(size=len(eta))
    return 1 + np.searchsorted(np.asarray(thresholds), latent, side="left").astype(np.int64)


def expected_csat(eta) -> np.ndarray:
    """E[CSAT | η] under the cumulative-logit model with the simulator's thresholds."""
    eta = np.asarray(eta, dtype=float)
    cum = logistic(np.asarray(CSAT_THRESHOLDS)[None, :] - eta.reshape(-1, 1))   # P(Y ≤ k), k=1..4
    return 5.0 - cum.sum(axis=1)
