import pytest

from ray_apps.tracking import shown_uri


@pytest.mark.parametrize(
    "uri, shown",
    [
        (
            "postgresql://raymaker:s3cret-pw@db.internal:5432/mlflow",
            "postgresql://raymaker:***@db.internal:5432/mlflow",
        ),
        (
            "postgresql+psycopg://u:p%40ss@127.0.0.1/m?sslmode=require",
            "postgresql+psycopg://u:***@127.0.0.1/m?sslmode=require",
        ),
        ("postgresql://raymaker@db/mlflow", "postgresql://raymaker@db/mlflow"),
        (
            "sqlite:////home/me/raymaker_data/mlflow.db",
            "sqlite:////home/me/raymaker_data/mlflow.db",
        ),
        ("http://mlflow.internal:5000", "http://mlflow.internal:5000"),
    ],
)
def test_a_password_in_a_tracking_uri_is_never_shown(uri, shown):
    assert shown_uri(uri) == shown
    assert "s3cret" not in shown_uri(uri) and "p%40ss" not in shown_uri(uri)
