"""rel_error and the centered-difference numerical gradient on functions whose gradient is known by hand."""
import numpy as np
import pytest

from rnn_helpers.gradcheck import numerical_gradient, rel_error


def test_rel_error_hand_values():
    assert rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.0
    # |1 - 3| / (1 + 3) = 0.5
    assert rel_error(np.array([1.0]), np.array([3.0])) == pytest.approx(0.5)
    # the floor 1e-8 on the denominator: two tiny numbers
    assert rel_error(np.array([0.0]), np.array([1e-12])) == pytest.approx(1e-4)
    with pytest.raises(ValueError, match="shape"):
        rel_error(np.zeros(2), np.zeros(3))


def test_numerical_gradient_of_a_quadratic():
    # f(x) = x**2 elementwise, upstream df: gradient 2 x df
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    df = np.array([[1.0, 2.0], [-1.0, 0.5]])
    g = numerical_gradient(lambda: x ** 2, x, df)
    assert np.allclose(g, 2 * x * df, rtol=1e-8)
    assert np.array_equal(x, [[1.0, -2.0], [0.5, 3.0]])   # restored


def test_numerical_gradient_of_a_matrix_product():
    rng = np.random.default_rng(0)
    A, W = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    df = rng.standard_normal((3, 2))
    # rounding noise of the difference quotient is ~1e-10 absolute, so small entries get an absolute tolerance
    assert np.allclose(numerical_gradient(lambda: A @ W, W, df), A.T @ df, rtol=1e-7, atol=1e-9)
    assert np.allclose(numerical_gradient(lambda: A @ W, A, df), df @ W.T, rtol=1e-7, atol=1e-9)


def test_centered_difference_is_second_order():
    # for exp, the one-sided error would be ~eps/2; the centered one is ~eps**2/6
    x = np.array([0.3])
    g = numerical_gradient(lambda: np.exp(x), x, np.ones(1), eps=1e-3)
    assert abs(g[0] - np.exp(0.3)) < 1e-6
