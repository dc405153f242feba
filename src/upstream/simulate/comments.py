"""Customer comments whose tone follows the score and whose words follow the policy.

A comment is one to three fragments: a tone fragment drawn from the bank of its CSAT score (so a
sentiment scorer should separate detractors from promoters, but not perfectly: some unhappy customers
write neutral words and a few happy ones complain), a policy fragment for contacts under a policy
with its own vocabulary (so the words that distinguish a policy's comments can be found), and now
and then a product fragment. A few comments carry personal data (e-mail, phone, card) that reports
must mask.
"""
from __future__ import annotations

import numpy as np

TONE = {
    1: ["Terrible service, nobody could help.", "Awful. I am angry and disappointed.", "Worst support ever, useless.",
        "Waste of my time, still broken.", "Transferred three times and still no answer, furious.",
        "Horrible experience, I want to cancel."],
    2: ["Slow and frustrating.", "The agent tried but it did not help.", "Had to explain everything twice, annoying.",
        "Not happy with how this went.", "Disappointing, took far too long."],
    3: ["It was ok.", "Took a while but fine in the end.", "Average service.", "Answer was correct, nothing special.",
        "Fine, I suppose."],
    4: ["Helpful agent.", "Quick and friendly.", "Good support, thanks.", "Sorted it out, thank you.",
        "Nice and polite agent."],
    5: ["Excellent service, thank you!", "The agent went above and beyond, brilliant.", "Fast, friendly, solved "
                                                                                        "first time.",
        "Amazing help, really great.", "Perfect, love the support team!"],
}
#: Words a policy's comments use more than others (the "Fightin' Words" a study should find).
POLICY_WORDS = {
    "refund above cap": ["The refund limit is unfair.", "Why cap my refund?", "Only a partial refund because of the "
                                                                              "cap."],
    "warranty expired": ["Warranty expired by two weeks, no exceptions.", "Out of warranty so nothing could be done."],
    "return window exceeded": ["Missed the return window by a few days.", "The return deadline is far too short."],
    "replacement part backorder": ["The replacement part is still on backorder.", "Backorder again, no delivery date."],
    "account security hold": ["My account was locked for security checks.", "Verification hold blocked my account."],
    "billing dispute": ["I was charged twice on my invoice.", "The billing error is still not fixed."],
    "loyalty credit": ["Got a loyalty credit, appreciated.", "The loyalty bonus was a nice touch."],
}
PRODUCT_FRAGMENT = ["My {product} works now.", "About my {product}.", "The {product} keeps failing."]
PII = ["Please call me back on 07700 900123, nobody did.", "Email me at jo.bloggs@example.com with the refund.",
       "You charged card 4111 1111 1111 1111 twice."]
#: Share of comments whose tone fragment comes from a neighbouring score (tone is noisy).
TONE_NOISE = 0.2


def make_comments(rng: np.random.Generator, rows: np.ndarray, csat: np.ndarray, policy: np.ndarray,
                  product: np.ndarray, n: int) -> np.ndarray:
    """Comments (object array of length n, None where there is none) for the contacts in `rows`."""
    comment = np.full(n, None, dtype=object)
    if len(rows) == 0:
        return comment
    score = csat[rows].astype(int)
    shifted = np.clip(score + rng.choice([-1, 1], len(rows)), 1, 5)
    tone_score = np.where(rng.random(len(rows)) < TONE_NOISE, shifted, score)
    pick_tone = rng.random(len(rows))
    with_policy = rng.random(len(rows)) < 0.6
    pick_policy = rng.random(len(rows))
    with_product = rng.random(len(rows)) < 0.2
    pick_product = rng.integers(0, len(PRODUCT_FRAGMENT), len(rows))
    for k, i in enumerate(rows):
        bank = TONE[int(tone_score[k])]
        parts = [bank[int(pick_tone[k] * len(bank))]]
        words = POLICY_WORDS.get(policy[i])
        if words is not None and with_policy[k]:
            parts.append(words[int(pick_policy[k] * len(words))])
        if with_product[k]:
            parts.append(PRODUCT_FRAGMENT[pick_product[k]].format(product=product[i]))
        comment[i] = " ".join(parts)
    if len(rows) >= len(PII):
        for i, text in zip(rng.choice(rows, len(PII), replace=False), PII):
            comment[i] = text
    return comment
