"""``rnn_helpers.forecasting`` (chapter 06, graded): forecasting windows and the persistence and seasonal-naive
baselines, on small fixed cases."""
import numpy as np
import pytest

from rnn_helpers import forecasting


def test_make_windows_small_case():
    X, y = forecasting.make_windows(np.arange(6.0), 3)
    assert X.tolist() == [[0, 1, 2], [1, 2, 3], [2, 3, 4]] and y.tolist() == [3, 4, 5]
    with pytest.raises(ValueError, match="window"):
        forecasting.make_windows(np.arange(6.0), 6)
    with pytest.raises(ValueError, match="1-D"):
        forecasting.make_windows(np.zeros((3, 2)), 1)


def test_baselines_read_the_right_column():
    X = np.array([[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]])
    assert forecasting.persistence_forecast(X).tolist() == [4.0, 8.0]
    assert forecasting.seasonal_naive_forecast(X, 1).tolist() == [4.0, 8.0]
    assert forecasting.seasonal_naive_forecast(X, 4).tolist() == [1.0, 5.0]
    with pytest.raises(ValueError, match="season"):
        forecasting.seasonal_naive_forecast(X, 5)


def test_seasonal_naive_is_exact_on_a_periodic_series():
    s = np.tile([3.0, 1.0, 4.0, 1.0, 5.0], 6)
    X, y = forecasting.make_windows(s, 7)
    assert np.array_equal(forecasting.seasonal_naive_forecast(X, 5), y)
    assert not np.array_equal(forecasting.persistence_forecast(X), y)
