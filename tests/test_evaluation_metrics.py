import polars as pl
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from evaluation.metrics import evaluate, instance_recall_by_typology


def test_instance_caught_only_through_originator_or_intermediary(labels) -> None:
    # "b" and "d" are beneficiaries: alerting them catches nothing; "e" catches the cycle.
    recall = instance_recall_by_typology(pl.Series(["b", "d", "e"]), labels)
    assert recall.to_dicts() == [
        {"typology": "cycle", "instances": 1, "caught": 1, "recall": 1.0},
        {"typology": "fan_in", "instances": 2, "caught": 0, "recall": 0.0},
    ]


def test_report_by_hand(labels) -> None:
    alerts = pl.DataFrame({"account_id": ["a", "c", "p", "x", "a"]})
    scores = pl.DataFrame(
        {"account_id": list("abcdefpmx"), "score": [0.9, 0.2, 0.8, 0.1, 0.3, 0.4, 0.7, 0.05, 0.6]}
    )
    report = evaluate(alerts, scores, labels)
    assert (report.alerts, report.alerted_accounts) == (5, 4)
    assert report.alert_precision == pytest.approx(2 / 4)
    assert report.instance_recall == pytest.approx(2 / 3)
    assert dict(report.false_alerts_by_behaviour.iter_rows()) == {"payroll": 1, "none": 1}
    y = [1, 1, 1, 1, 1, 1, 0, 0, 0]
    assert report.account_average_precision == pytest.approx(average_precision_score(y, scores["score"]))
    assert report.account_roc_auc == pytest.approx(roc_auc_score(y, scores["score"]))


def test_instance_ranking_auc_by_hand(labels) -> None:
    from evaluation.metrics import instance_ranking_auc

    # Instances score i1=max(a,b)=0.9, i2=max(c,d)=0.3, i3=max(e,f)=0.2; background p=0.5, q=0.1.
    scores = pl.DataFrame(
        {
            "account_id": ["a", "b", "c", "d", "e", "f", "p", "q"],
            "score": [0.9, 0.1, 0.3, 0.0, 0.2, 0.1, 0.5, 0.1],
        }
    )
    # Pairs (instance > background): 0.9 beats both, 0.3 beats q, 0.2 beats q -> 4 of 6.
    assert instance_ranking_auc(scores, labels) == pytest.approx(4 / 6)
