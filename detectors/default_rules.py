"""The default rule set: one or more scenarios per typology the features can express.

Thresholds are starting points checked against the synthetic demo data (see docs/DETECTORS.md);
override them through ``DetectorConfig.rules`` / ``extra_rules`` / ``disabled_rules``.
"""

from __future__ import annotations

from detectors.rule_spec import Condition, RuleSpec


def _c(feature: str, threshold: float, saturation: float | None = None, **kw: object) -> Condition:
    return Condition(feature=feature, threshold=threshold, saturation=saturation, **kw)


#: The first-version scenarios, one or more per typology the core features can express.
DEFAULT_RULES: tuple[RuleSpec, ...] = (
    RuleSpec(
        name="structuring_7d",
        typology="structuring",
        kinds=("individual", "business"),
        conditions=(
            _c("near_threshold_cash_count_7d", 3, 10, scale="log", by_kind={"business": 5}),
            _c("near_threshold_cash_share_7d", 0.5, 1.0, by_kind={"business": 0.7}),
            _c("near_threshold_depositors_7d", 2, 6, required=False),
        ),
        reason="{near_threshold_cash_count_7d:#cash deposit} of USD {near_low:,.0f}-{near_high:,.0f}"
        " within 7 days from {near_threshold_depositors_7d:#known depositor}"
        " ({near_threshold_cash_share_7d:.0%} of cash deposits)",
    ),
    RuleSpec(
        name="structuring_30d",
        typology="structuring",
        kinds=("individual", "business"),
        conditions=(
            _c("near_threshold_cash_count_30d", 5, 20, scale="log"),
            _c("near_threshold_cash_share_30d", 0.4, 1.0),
            _c("near_threshold_depositors_30d", 2, 8, required=False),
        ),
        reason="{near_threshold_cash_count_30d:#cash deposit} of USD {near_low:,.0f}-{near_high:,.0f}"
        " within 30 days from {near_threshold_depositors_30d:#known depositor}"
        " ({near_threshold_cash_share_30d:.0%} of cash deposits)",
    ),
    RuleSpec(
        # Cash placed in several deposits that each stay under the reporting threshold (the
        # average lies in the band just below it) but add up to well above it.
        name="structuring_split_30d",
        typology="structuring",
        kinds=("individual",),
        conditions=(
            _c("cash_deposit_count_30d", 3, 15, scale="log"),
            _c("cash_deposit_amount_30d", 5_000, 9_000, per="cash_deposit_count_30d"),
            _c("cash_deposit_amount_30d", 9_999.99, op="<=", per="cash_deposit_count_30d", graded=False),
            _c("cash_deposit_amount_30d", 20_000, 200_000, scale="log"),
            # Cash banked in many regions is the funnel scenario's (funnel_30d).
            _c("cash_deposit_regions_30d", 4, op="<=", graded=False),
        ),
        reason="{cash_deposit_count_30d:#cash deposit} totalling USD {cash_deposit_amount_30d:,.0f}"
        " within 30 days, averaging under USD {near_high:,.0f} each",
    ),
    RuleSpec(
        name="funnel_30d",
        typology="funnel",
        kinds=("individual", "business"),
        conditions=(
            _c("cash_deposit_regions_30d", 4, 10, by_kind={"business": 6}),
            _c("cash_deposit_amount_30d", 20_000, 300_000, scale="log"),
            _c("out_amount_30d", 0.7, 1.0, per="cash_deposit_amount_30d"),
            _c("cross_border_out_share_30d", 0.2, 1.0, required=False),
        ),
        reason="cash deposits of USD {cash_deposit_amount_30d:,.0f} at branches in"
        " {cash_deposit_regions_30d:#region} within 30 days, USD {out_amount_30d:,.0f}"
        " paid out ({cross_border_out_share_30d:.0%} cross-border)",
    ),
    RuleSpec(
        name="fan_in_7d",
        typology="fan_in",
        kinds=("individual",),
        conditions=(
            _c("fan_in_degree_7d", 10, 50, scale="log"),
            _c("in_amount_7d", 5_000, 100_000, scale="log"),
            _c("new_counterparties_30d", 10, 50, required=False, scale="log"),
            _c("pass_through_ratio_7d", 0.5, 1.0, required=False),
        ),
        reason="{fan_in_degree_7d:#distinct payer} sent USD {in_amount_7d:,.0f} within 7 days"
        " ({new_counterparties_30d:,.0f} new counterparties in 30 days)",
    ),
    RuleSpec(
        name="fan_in_business_7d",
        typology="fan_in",
        kinds=("business",),
        # Off by default: on the 20,000-account demo it fired on twice as many benign businesses
        # (payroll, cash-intensive, rent) as laundering ones; needs payer-profile features.
        enabled=False,
        conditions=(
            _c("fan_in_degree_7d", 10, 50, scale="log"),
            _c("in_amount_7d", 1_500, 10_000, per="in_count_7d", scale="log"),
            _c("in_amount_7d", 20_000, 500_000, scale="log"),
            _c("new_counterparties_30d", 10, 50, required=False, scale="log"),
        ),
        reason="{fan_in_degree_7d:#distinct payer} sent USD {in_amount_7d:,.0f} in {in_count_7d:#payment}"
        " within 7 days, far larger payments than a merchant's customers make",
    ),
    RuleSpec(
        name="gather_scatter_7d",
        typology="gather_scatter",
        kinds=("individual", "business"),
        # Off by default: 7-day degrees cannot tell a trading business from a gather-scatter hub
        # (93 benign vs 45 laundering accounts on the demo); needs 2-hop timing features.
        enabled=False,
        conditions=(
            _c("fan_in_degree_7d", 5, 30, scale="log"),
            _c("fan_out_degree_7d", 5, 30, scale="log"),
            _c("pass_through_ratio_7d", 0.8, 1.0),
            _c("in_amount_7d", 10_000, 500_000, scale="log"),
        ),
        reason="gathered USD {in_amount_7d:,.0f} from {fan_in_degree_7d:#distinct payer} and scattered"
        " USD {out_amount_7d:,.0f} to {fan_out_degree_7d:#distinct account} within 7 days",
    ),
    RuleSpec(
        # The 30-day shape of a gather-scatter hub: gathered from several payers it had never
        # dealt with and scattered, almost all of it, to several payees it had never paid. Every
        # counterparty new is what sets it apart from a trading business or an employer (their
        # customers, suppliers and staff recur), in the weeks when novelty can be measured.
        name="gather_scatter_30d",
        typology="gather_scatter",
        kinds=("individual", "business"),
        conditions=(
            _c("pass_through_ratio_30d", 0.9, 1.0),
            _c("in_amount_30d", 10_000, 500_000, scale="log"),
            _c("inflow_to_declared_income_30d", 0.5, 10, scale="log"),
            _c("fan_in_degree_30d", 3, 10, scale="log"),
            _c("fan_out_degree_30d", 3, 10, scale="log"),
            _c("fan_in_degree_30d", 15, op="<=", graded=False),
            _c("fan_out_degree_30d", 15, op="<=", graded=False),
            _c("new_payers_30d", 1, per="fan_in_degree_30d", graded=False),
            _c("new_payees_30d", 1, per="fan_out_degree_30d", graded=False),
        ),
        reason="gathered USD {in_amount_30d:,.0f} from {fan_in_degree_30d:#new payer} and scattered"
        " USD {out_amount_30d:,.0f} to {fan_out_degree_30d:#new payee} within 30 days"
        " ({inflow_to_declared_income_30d:,.1f} times declared monthly income)",
    ),
    RuleSpec(
        name="smuggling_fees_30d",
        typology="smuggling_fees",
        kinds=("individual",),
        conditions=(
            _c("fan_in_degree_30d", 15, 60, scale="log"),
            _c("in_amount_30d", 3_000, per="in_count_30d", op="<="),
            _c("in_amount_30d", 10_000, 200_000, scale="log"),
            _c("new_counterparties_30d", 15, 60, required=False, scale="log"),
        ),
        reason="{fan_in_degree_30d:#distinct sender} paid USD {in_amount_30d:,.0f} in"
        " {in_count_30d:#small transfer} within 30 days ({new_counterparties_30d:,.0f} new counterparties)",
    ),
    RuleSpec(
        # A person paid mostly from abroad by many payers it had never dealt with (fees
        # collected from people moved across the border); family remittances come from a few
        # known senders.
        name="smuggling_cross_border_30d",
        typology="smuggling_fees",
        kinds=("individual",),
        conditions=(
            _c("cross_border_in_share_30d", 0.6, 0.9),
            _c("fan_in_degree_30d", 5, 15, scale="log"),
            _c("new_counterparties_30d", 8, 20, scale="log"),
            _c("in_amount_30d", 3_000, 30_000, scale="log"),
        ),
        reason="{fan_in_degree_30d:#distinct payer} paid USD {in_amount_30d:,.0f} within 30 days,"
        " {cross_border_in_share_30d:.0%} of it from abroad ({new_counterparties_30d:#new counterparty})",
    ),
    RuleSpec(
        name="scatter_gather_out_7d",
        typology="scatter_gather",
        kinds=("individual", "business"),
        conditions=(
            _c("scatter_gather_middles_7d", 3, 10, scale="log", by_kind={"business": 4}),
            _c("out_amount_7d", 10_000, 500_000, scale="log"),
        ),
        reason="sent USD {out_amount_7d:,.0f} within 7 days through"
        " {scatter_gather_middles_7d:#distinct intermediary} that passed it on to one recipient",
    ),
    RuleSpec(
        name="scatter_gather_in_7d",
        typology="scatter_gather",
        kinds=("individual", "business"),
        conditions=(
            _c("gather_middles_7d", 3, 10, scale="log", by_kind={"business": 4}),
            _c("in_amount_7d", 10_000, 500_000, scale="log"),
        ),
        reason="received USD {in_amount_7d:,.0f} within 7 days from one sender's money relayed"
        " through {gather_middles_7d:#distinct intermediary}",
    ),
    RuleSpec(
        name="cycle_7d",
        typology="cycle",
        kinds=("individual", "business"),
        # Off by default: payroll and merchant accounts close temporal cycles too; on the
        # 20,000-account demo it fired on 16 benign vs 36 laundering accounts and found 6 of 30
        # cycle schemes (pass_through_7d already reaches most cycle members).
        enabled=False,
        conditions=(
            _c("temporal_cycles_7d", 1, 5, scale="log"),
            _c("in_amount_7d", 20_000, 500_000, scale="log", by_kind={"business": 50_000}),
            _c("out_amount_7d", 20_000, 500_000, scale="log", by_kind={"business": 50_000}),
            _c("pass_through_ratio_7d", 0.7, 1.0),
        ),
        reason="{temporal_cycles_7d:#round-trip cycle} through the account within 7 days, moving"
        " USD {in_amount_7d:,.0f} in and USD {out_amount_7d:,.0f} out",
    ),
    RuleSpec(
        # A relay: money from one to three counterparties it had never dealt with, almost all
        # sent on within the month to one to three others it had never paid, in sums large for
        # the declared income. Links of layering chains, cycles and scatter-gather middles look
        # like this even when the hops are days apart (a 7-day window splits them).
        name="relay_30d",
        typology="pass_through",
        kinds=("individual", "business"),
        conditions=(
            _c("pass_through_ratio_30d", 0.9, 1.0),
            _c("in_amount_30d", 3_000, 100_000, scale="log"),
            _c("inflow_to_declared_income_30d", 0.5, 10, scale="log"),
            _c("fan_in_degree_30d", 3, op="<=", graded=False),
            _c("fan_out_degree_30d", 3, op="<=", graded=False),
            _c("new_payers_30d", 1, per="fan_in_degree_30d", graded=False),
            _c("new_payees_30d", 1, per="fan_out_degree_30d", graded=False),
        ),
        reason="relayed USD {out_amount_30d:,.0f} of USD {in_amount_30d:,.0f} received within 30 days"
        " from {fan_in_degree_30d:#new payer} to {fan_out_degree_30d:#new payee}"
        " ({inflow_to_declared_income_30d:,.1f} times declared monthly income)",
    ),
    RuleSpec(
        name="fan_out_7d",
        typology="fan_out",
        kinds=("individual",),
        conditions=(
            _c("fan_out_degree_7d", 10, 50, scale="log"),
            _c("out_amount_7d", 10_000, 200_000, scale="log"),
            _c("out_amount_7d", 500, 5_000, per="out_count_7d", scale="log"),
            _c("pass_through_ratio_7d", 0.5, 1.0, required=False),
        ),
        reason="paid USD {out_amount_7d:,.0f} to {fan_out_degree_7d:#distinct account} in"
        " {out_count_7d:#payment} within 7 days",
    ),
    RuleSpec(
        name="pass_through_7d",
        typology="pass_through",
        kinds=("individual", "business"),
        conditions=(
            _c("pass_through_ratio_7d", 0.9, 1.0),
            _c("in_amount_7d", 10_000, 250_000, scale="log", by_kind={"business": 50_000}),
            _c("out_amount_7d", 10_000, 250_000, scale="log", by_kind={"business": 50_000}),
            _c("inflow_to_declared_income_30d", 3, 30, required=False, scale="log"),
            _c("pass_through_chain_length_7d", 2, 5, required=False),
        ),
        reason="USD {in_amount_7d:,.0f} in and USD {out_amount_7d:,.0f} out within 7 days"
        " (pass-through ratio {pass_through_ratio_7d:.2f}, {fast_forward_count_7d:,.0f} sent on"
        " within a day of arriving)",
    ),
    RuleSpec(
        name="bribery_30d",
        typology="bribery",
        kinds=("individual",),
        conditions=(
            _c("is_pep", 1, graded=False),
            _c("inflow_to_declared_income_30d", 3, 30, scale="log"),
            _c("in_amount_30d", 10_000, 200_000, scale="log"),
            # Repeated large payments, not one large sale (a house, a car) in the month.
            _c("large_in_count_30d", 2, 5),
        ),
        reason="politically exposed person received USD {in_amount_30d:,.0f} within 30 days"
        " ({large_in_count_30d:#payment} at or above the reporting threshold),"
        " {inflow_to_declared_income_30d:,.1f} times declared monthly income"
        " of USD {declared_monthly_income:,.0f}",
    ),
    RuleSpec(
        name="cash_courier_30d",
        typology="cash_courier",
        kinds=("individual",),
        conditions=(
            _c("cash_withdrawal_amount_30d", 20_000, 200_000, scale="log"),
            _c("cash_withdrawal_count_30d", 3, 15, scale="log"),
            _c(
                "cash_withdrawal_amount_30d",
                3,
                20,
                per="declared_monthly_income",
                per_floor=1_000,
                scale="log",
            ),
            _c("border_cash_withdrawal_count_30d", 1, 5, required=False),
        ),
        reason="{cash_withdrawal_count_30d:#cash withdrawal} totalling USD"
        " {cash_withdrawal_amount_30d:,.0f} within 30 days ({border_cash_withdrawal_count_30d:,.0f} at"
        " border branches) against declared monthly income of USD {declared_monthly_income:,.0f}",
    ),
    RuleSpec(
        name="dormant_out_7d",
        typology="dormant",
        kinds=("individual", "business"),
        conditions=(
            _c("days_since_previous_activity", 60, 365),
            _c("out_amount_7d", 10_000, 250_000, scale="log"),
            _c("in_amount_7d", 10_000, 250_000, scale="log", required=False),
        ),
        reason="active again after {days_since_previous_activity:#day} without activity:"
        " USD {in_amount_7d:,.0f} in and USD {out_amount_7d:,.0f} out within 7 days",
    ),
    RuleSpec(
        name="dormant_30d",
        typology="dormant",
        kinds=("individual", "business"),
        conditions=(
            _c("reactivation_gap_days", 60, 365),
            _c("in_amount_30d", 20_000, 1_000_000, scale="log"),
            _c("out_amount_30d", 10_000, 1_000_000, scale="log"),
        ),
        reason="silent for {reactivation_gap_days:#day}, then USD {in_amount_30d:,.0f} in and"
        " USD {out_amount_30d:,.0f} out within 30 days",
    ),
    RuleSpec(
        # Young accounts linked by shared identifiers that forward what they receive, quickly,
        # to one common collector.
        name="mule_network_7d",
        typology="mule_network",
        kinds=("individual",),
        conditions=(
            _c("entity_component_size", 3, 10),
            _c("entity_collector_share_7d", 0.5, 1.0),
            _c("pass_through_ratio_7d", 0.7, 1.0),
            _c("account_age_days", 120, 30, op="<="),
            _c("in_amount_7d", 2_000, 50_000, scale="log"),
            _c("fast_forward_share_7d", 0.5, 1.0),
        ),
        reason="one of {entity_component_size:#linked account} sharing phone, address or device;"
        " opened {account_age_days:#day} ago, it forwarded {pass_through_ratio_7d:.0%} of USD"
        " {in_amount_7d:,.0f} received within 7 days; {entity_collector_share_7d:.0%} of the linked"
        " accounts' outflow went to one recipient",
    ),
    RuleSpec(
        # Trade-based laundering: a trading business paid invoice-like round amounts by many
        # counterparties it has not dealt with before (third parties instead of its buyers).
        name="tbml_30d",
        typology="tbml",
        kinds=("business",),
        conditions=(
            _c("round_amount_share_30d", 0.25, 1.0),
            _c("in_amount_30d", 50_000, 1_000_000, scale="log"),
            _c("fan_in_degree_30d", 3, 20, scale="log"),
            _c("new_counterparties_30d", 5, 30, scale="log"),
            _c("in_amount_30d_peer_z", 1.0, 4.0, required=False),
        ),
        reason="business paid USD {in_amount_30d:,.0f} by {fan_in_degree_30d:#distinct payer} within"
        " 30 days ({new_counterparties_30d:#new counterparty}), {round_amount_share_30d:.0%} of"
        " transactions in round amounts",
    ),
    RuleSpec(
        # An established account with no flow in the weeks before suddenly moves large sums in
        # and out: the spike against its own history stands in for the inactivity gap when the
        # silence began before the data does.
        name="dormant_spike_7d",
        typology="dormant",
        kinds=("individual", "business"),
        conditions=(
            _c("account_age_days", 180, 720),
            _c("in_amount_spike_7d", 100, 1_000, scale="log"),
            _c("out_amount_spike_7d", 100, 1_000, scale="log"),
            _c("in_amount_7d", 50_000, 1_000_000, scale="log"),
            _c("out_amount_7d", 20_000, 1_000_000, scale="log"),
            # Through a few counterparties: a busy account (merchant, payroll, landlord) whose
            # history is short or seasonal spikes against its own past too.
            _c("fan_in_degree_30d", 5, op="<=", graded=False),
            _c("fan_out_degree_30d", 5, op="<=", graded=False),
        ),
        reason="account opened {account_age_days:#day} ago, quiet in the weeks before, received USD"
        " {in_amount_7d:,.0f} ({in_amount_spike_7d:,.0f} times its usual week) and paid out USD"
        " {out_amount_7d:,.0f} within 7 days",
    ),
    RuleSpec(
        name="shell_30d",
        typology="shell",
        kinds=("business",),
        conditions=(
            _c("account_age_days", 180, 30, op="<="),
            _c("pass_through_ratio_30d", 0.8, 1.0),
            _c("cross_border_out_share_30d", 0.3, 1.0),
            _c("in_amount_30d", 50_000, 1_000_000, scale="log"),
            _c("risk_weighted_cross_border_share_30d", 0.2, 1.0, required=False),
        ),
        reason="business account opened {account_age_days:#day} ago passed through USD"
        " {in_amount_30d:,.0f} within 30 days (pass-through ratio {pass_through_ratio_30d:.2f},"
        " {cross_border_out_share_30d:.0%} of outflows cross-border)",
    ),
)
