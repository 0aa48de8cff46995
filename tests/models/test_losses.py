import numpy as np
import pytest
import torch

from neurorrn.models.losses import LOSSES, LossConfig, cohort_weights, make_loss


def _bce(z, y):
    p = 1 / (1 + np.exp(-z))
    return -(y * np.log(p) + (1 - y) * np.log(1 - p))


@pytest.fixture
def batch():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 30, 5, generator=g, dtype=torch.float64)
    target = torch.tensor([[1, 0, 0, 1, 0], [0, 1, 0, 0, 0]], dtype=torch.float64)
    lengths = torch.tensor([30, 20])
    return logits, target, lengths


def test_earshot_unmasked_and_masked(batch):
    logits, target, lengths = batch
    z, y = logits.numpy(), np.broadcast_to(target.numpy()[:, None], logits.shape)
    e = _bce(z, y)
    got = make_loss("earshot")(logits, target, lengths)
    np.testing.assert_allclose(float(got), e.mean(), rtol=1e-10)  # every frame of the padded batch
    masked = make_loss(LossConfig(kind="earshot", mask_after_offset=True))(logits, target, lengths)
    valid = np.concatenate([e[0].mean(1), e[1, :20].mean(1)])
    np.testing.assert_allclose(float(masked), valid.mean(), rtol=1e-10)


def test_cohort_loss_weights(batch):
    logits, target, lengths = batch
    c = 16.0
    got = make_loss(LossConfig(kind="cohort", cohort_c=c, offset_s=0.1), frame_rate=100.0)(logits, target, lengths)
    z = logits.numpy()
    y = np.broadcast_to(target.numpy()[:, None], z.shape)
    w = np.ones_like(z)
    for i, n in enumerate(lengths.tolist()):
        region = np.arange(30) < n - 10  # onset .. 100 ms (10 frames) before offset
        w[i, region] = np.where(y[i, region] == 1, 1.0, 1 / c)
    per_frame = (_bce(z, y) * w).mean(-1)
    expected = np.concatenate([per_frame[0], per_frame[1, :20]]).mean()
    np.testing.assert_allclose(float(got), expected, rtol=1e-10)


def test_cohort_weight_table():
    target = torch.tensor([[[1.0, 0.0]] * 4])
    region = torch.tensor([[True, True, False, False]])
    w = cohort_weights(target, region, 1024.0)
    np.testing.assert_allclose(w[0].numpy(), [[1, 1 / 1024], [1, 1 / 1024], [1, 1], [1, 1]])


def test_mse(batch):
    logits, target, lengths = batch
    got = make_loss("mse")(logits, target, lengths)
    d = (logits.numpy() - target.numpy()[:, None]) ** 2
    np.testing.assert_allclose(float(got), np.concatenate([d[0].mean(1), d[1, :20].mean(1)]).mean(), rtol=1e-10)


@pytest.mark.parametrize("kind", sorted(LOSSES))
def test_registry_losses_are_differentiable_and_minimal_at_target(kind):
    target = torch.tensor([[1.0, 0.0, 1.0]])
    good = torch.tensor([[[8.0, -8.0, 8.0]] * 5]) if kind != "mse" else target[:, None].repeat(1, 5, 1)
    bad = -good if kind != "mse" else 1 - good
    loss = make_loss(kind)
    assert float(loss(good, target)) < float(loss(bad, target))
    x = bad.clone().requires_grad_(True)
    loss(x, target).backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_loss_errors():
    with pytest.raises(ValueError, match="Invalid value for loss kind: 'cohrt'"):
        make_loss("cohrt")
    with pytest.raises(ValueError, match=r"target has shape \(1, 2, 3\); expected \(batch, n_dims\)"):
        make_loss("earshot")(torch.zeros(1, 4, 3), torch.zeros(1, 2, 3))
