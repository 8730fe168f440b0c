"""TabNet modules: masks, prior, explanation formula, embeddings, groups, pretraining."""

import numpy as np
import pytest
import torch

from skgates.nn.tabnet import (
    AttentiveTransformer, CategoricalEmbedding, FeatureTransformer, GLUBlock, GLULayer, TabNet,
    TabNetDecoder, TabNetEncoder, TabNetPretraining, TabNetPretrainingLoss,
)


def small_net(n_features=6, **options):
    torch.manual_seed(0)
    params = dict(n_d=4, n_a=4, n_steps=3, gamma=1.5, virtual_batch_size=16)
    params.update(options)
    return TabNet(n_features, 2, **params)


def warmed(net, x):
    """Run a few training-mode passes so batch norms have statistics, then switch to eval."""
    net.train()
    with torch.no_grad():
        for _ in range(3):
            net(x)
    return net.eval()


@pytest.mark.parametrize("mask_type", ["sparsemax", "entmax"])
def test_masks_of_each_step_sum_to_one(mask_type):
    net = small_net(mask_type=mask_type)
    x = torch.randn(40, 6)
    masks, weights = net.encoder.forward_masks(x)
    assert masks.shape == (3, 40, 6) and weights.shape == (3, 40)
    torch.testing.assert_close(masks.sum(dim=2), torch.ones(3, 40))
    assert torch.all(masks >= 0) and torch.all(weights >= 0)


def test_prior_update_follows_the_paper():
    """Rebuild the steps by hand: M[i] = att_i(P[i-1], a[i-1]), P[i] = P[i-1] (gamma - M[i])."""
    net = warmed(small_net(gamma=1.7), torch.randn(64, 6))
    encoder = net.encoder
    x = torch.randn(20, 6)
    with torch.no_grad():
        h = encoder.initial_bn(x)
        prior = torch.ones(20, 6)
        a = encoder.initial_splitter(h)[:, encoder.n_d:]
        expected = []
        for att, transformer in zip(encoder.attentive_transformers, encoder.feature_transformers):
            mask = att(prior, a)
            expected.append(mask)
            prior = prior * (1.7 - mask)
            a = transformer(mask * h)[:, encoder.n_d:]
        masks, _ = encoder.forward_masks(x)
    torch.testing.assert_close(masks, torch.stack(expected))


def test_explain_matches_the_paper_formula():
    net = warmed(small_net(), torch.randn(64, 6))
    x = torch.randn(25, 6)
    with torch.no_grad():
        aggregate, masks = net.explain(x)
        step_masks, weights = net.encoder.forward_masks(x)
    m, eta = step_masks.numpy(), weights.numpy()
    numerator = np.einsum("sb,sbj->bj", eta, m)
    expected = numerator / numerator.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(aggregate.numpy(), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(masks.numpy(), m, rtol=1e-6)
    # eta is the sum of the ReLU decision features of each step
    with torch.no_grad():
        steps = net.encoder(x)
    np.testing.assert_allclose(eta, torch.stack(steps).sum(dim=2).numpy(), rtol=1e-5)


def test_penalty_is_lambda_times_mean_mask_entropy():
    net = small_net(lambda_sparse=0.1)
    net.eval()
    x = torch.randn(30, 6)
    with torch.no_grad():
        net(x)
        masks, _ = net.encoder.forward_masks(x)
    entropy = -(masks * torch.log(masks + 1e-15)).sum(dim=2).mean()
    torch.testing.assert_close(net.penalty(), 0.1 * entropy)


def test_categorical_embedding_replaces_columns_in_place():
    torch.manual_seed(0)
    emb = CategoricalEmbedding(4, cat_idxs=[2, 0], cat_dims=[5, 3], cat_emb_dims=[2, 3])
    x = torch.tensor([[1.0, 0.5, 4.0, -1.0], [2.0, 1.5, 0.0, 2.0]])
    out = emb(x)
    assert emb.out_features == 3 + 1 + 2 + 1 == out.shape[1]
    assert emb.column_of.tolist() == [0, 0, 0, 1, 2, 2, 3]
    torch.testing.assert_close(out[:, :3], emb.embeddings[0](x[:, 0].long()))  # column 0, dim 3
    torch.testing.assert_close(out[:, 4:6], emb.embeddings[1](x[:, 2].long()))
    torch.testing.assert_close(out[:, 3], x[:, 1])
    torch.testing.assert_close(out[:, 6], x[:, 3])


def test_embedded_columns_fold_back_in_explain():
    net = small_net(n_features=4, cat_idxs=[1], cat_dims=[4], cat_emb_dims=[3])
    x = torch.randn(48, 4)
    x[:, 1] = torch.randint(0, 4, (48,)).float()
    warmed(net, x)
    with torch.no_grad():
        aggregate, masks = net.explain(x)
        group_masks, _ = net.encoder.forward_masks(net.embedding(x))
    assert aggregate.shape == (48, 4) and masks.shape == (3, 48, 4)
    torch.testing.assert_close(masks.sum(dim=2), torch.ones(3, 48))
    # one attention value per input column: the embedding's three columns share it
    assert group_masks.shape[2] == 4
    torch.testing.assert_close(masks, group_masks)


def test_grouped_features_share_one_mask_value():
    net = small_net(n_features=6, grouped_features=[[0, 3, 5]])
    x = torch.randn(40, 6)
    warmed(net, x)
    with torch.no_grad():
        _, masks = net.explain(x)
        group_masks, _ = net.encoder.forward_masks(x)
    assert group_masks.shape[2] == 4  # one group of three columns plus three singletons
    torch.testing.assert_close(masks[..., 0], masks[..., 3])
    torch.testing.assert_close(masks[..., 0], masks[..., 5])
    torch.testing.assert_close(masks.sum(dim=2), torch.ones(3, 40))


def test_glu_block_residual_scaling():
    torch.manual_seed(0)
    block = GLUBlock(3, 3, n_layers=2, first=False, virtual_batch_size=8).eval()
    x = torch.randn(5, 3)
    first, second = block.layers
    expected = (x + first(x)) * np.sqrt(0.5)
    expected = (expected + second(expected)) * np.sqrt(0.5)
    torch.testing.assert_close(block(x), expected)


def test_encoder_rejects_bad_settings():
    with pytest.raises(ValueError, match="n_steps"):
        TabNetEncoder(4, n_steps=0)
    with pytest.raises(ValueError, match="both be 0"):
        TabNetEncoder(4, n_independent=0, n_shared=0)
    with pytest.raises(ValueError, match="mask_type"):
        TabNetEncoder(4, mask_type="softmax")


def test_pretraining_hides_about_the_ratio_and_masks_hidden_groups():
    torch.manual_seed(0)
    net = TabNetPretraining(8, pretraining_ratio=0.3, n_d=4, n_a=4, virtual_batch_size=64)
    x = torch.randn(2000, 8)
    reconstruction, embedded, hidden = net(x)
    assert reconstruction.shape == embedded.shape == hidden.shape == (2000, 8)
    assert abs(hidden.mean().item() - 0.3) < 0.02
    loss = TabNetPretrainingLoss()((reconstruction, embedded, hidden))
    assert loss.ndim == 0 and loss.item() > 0
    loss.backward()
    net.eval()
    _, _, hidden_eval = net(x[:10])
    torch.testing.assert_close(hidden_eval, torch.ones(10, 8))


def test_pretraining_loss_formula():
    reconstruction = torch.tensor([[1.0, 0.0], [0.0, 0.0], [2.0, 5.0]])
    embedded = torch.tensor([[0.0, 1.0], [1.0, 3.0], [2.0, 2.0]])
    hidden = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    var = embedded.var(dim=0)
    col0 = ((1 - 0) ** 2 + (0 - 1) ** 2) / var[0] / 2
    col1 = ((0 - 3) ** 2 + (5 - 2) ** 2) / var[1] / 2
    loss = TabNetPretrainingLoss()((reconstruction, embedded, hidden))
    torch.testing.assert_close(loss, (col0 + col1) / 2)


def test_short_last_batch_and_single_row_forward():
    net = small_net()
    assert net(torch.randn(33, 6)).shape == (33, 2)  # chunks of 16, 16 and 1
    assert net(torch.randn(1, 6)).shape == (1, 2)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(n_d=0), ValueError, "n_d must be an int >= 1, got 0"),
    (dict(n_a=2.0), TypeError, "n_a must be an int >= 1, got 2.0"),
    (dict(n_steps=0), ValueError, "n_steps must be an int >= 1, got 0"),
    (dict(gamma=0.9), ValueError, "gamma must be a finite number >= 1, got 0.9"),
    (dict(gamma=float("nan")), ValueError, "gamma must be a finite number >= 1, got nan"),
    (dict(n_independent=-1), ValueError, "n_independent must be an int >= 0, got -1"),
    (dict(n_shared=True), TypeError, "n_shared must be an int >= 0, got True"),
    (dict(n_independent=0, n_shared=0), ValueError, "n_independent and n_shared cannot both be 0"),
    (dict(virtual_batch_size=1), ValueError, "virtual_batch_size must be an int >= 2, got 1"),
    (dict(momentum=2.0), ValueError, r"momentum must be a number in \[0, 1\], got 2.0"),
    (dict(mask_type="softmax"), ValueError,
     "Unknown mask_type 'softmax'; mask_type must be one of 'sparsemax', 'entmax'"),
    (dict(lambda_sparse=-1e-3), ValueError, "lambda_sparse must be a finite number >= 0"),
    (dict(epsilon=0.0), ValueError, "epsilon must be a finite number > 0, got 0.0"),
    (dict(n_outputs=0), ValueError, "n_outputs must be an int >= 1, got 0"),
    (dict(n_features=0), ValueError, "n_features must be an int >= 1, got 0"),
    (dict(grouped_features=[[0, 1], [1, 2]]), ValueError, "grouped_features overlap: column 1"),
    (dict(grouped_features=[[0, 9]]), ValueError, "grouped_features holds column 9, outside"),
    (dict(grouped_features=[[]]), ValueError, "grouped_features holds an empty group"),
    (dict(grouped_features=[0, 1]), TypeError, "grouped_features must be a list of lists"),
    (dict(grouped_features=[[0, 1.0]]), TypeError, "grouped_features entries must be ints"),
    (dict(cat_idxs=[6], cat_dims=[3], cat_emb_dims=[1]), ValueError,
     "cat_idxs holds 6, outside the 6 input columns"),
    (dict(cat_idxs=[1, 1], cat_dims=[3, 3], cat_emb_dims=[1, 1]), ValueError,
     "cat_idxs lists a column twice"),
    (dict(cat_idxs=[1], cat_dims=[3, 4], cat_emb_dims=[1]), ValueError,
     r"cat_dims must hold one int >= 1 per categorical column \(1, as cat_idxs\)"),
    (dict(cat_idxs=[1], cat_dims=[3], cat_emb_dims=[0]), ValueError, "cat_emb_dims must hold"),
    (dict(cat_idxs="1"), TypeError, "cat_idxs must be a sequence of ints"),
])
def test_tabnet_arguments_are_checked_and_named(kwargs, error, match):
    arguments = dict(n_features=6, n_outputs=2, virtual_batch_size=16)
    arguments.update(kwargs)
    with pytest.raises(error, match=match):
        TabNet(**arguments)


@pytest.mark.parametrize("kwargs, match", [
    (dict(pretraining_ratio=0.0), r"pretraining_ratio must be a number in \(0, 1\), got 0.0"),
    (dict(pretraining_ratio=1.0), r"pretraining_ratio must be a number in \(0, 1\), got 1.0"),
    (dict(n_shared_decoder=0, n_indep_decoder=0),
     "n_shared_decoder and n_indep_decoder cannot both be 0"),
    (dict(n_indep_decoder=-1), "n_indep_decoder must be an int >= 0, got -1"),
])
def test_pretraining_arguments_are_checked_and_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TabNetPretraining(4, virtual_batch_size=16, **kwargs)


def test_building_blocks_check_their_arguments():
    with pytest.raises(ValueError, match=r"fc must be a Linear\(3, 8\)"):
        GLULayer(3, 4, fc=torch.nn.Linear(3, 4, bias=False))
    with pytest.raises(TypeError, match="fc must be a Linear or None"):
        GLULayer(3, 4, fc="shared")
    with pytest.raises(ValueError, match="n_layers must be an int >= 1, got 0"):
        GLUBlock(3, 3, n_layers=0)
    with pytest.raises(ValueError, match=r"in_features \(3\) must equal out_features \(4\)"):
        GLUBlock(3, 4, n_layers=2)
    with pytest.raises(ValueError, match="n_independent and n_shared cannot both be 0"):
        FeatureTransformer(3, 4, None, 0)
    with pytest.raises(ValueError, match="mask_type"):
        AttentiveTransformer(3, 4, mask_type="softmax")
    with pytest.raises(ValueError, match="n_independent and n_shared cannot both be 0"):
        TabNetDecoder(4, n_independent=0, n_shared=0)
    with pytest.raises(ValueError, match=r"group_matrix must have shape \(n_groups, n_feat"):
        TabNetEncoder(4, group_matrix=torch.ones(2, 3))
    with pytest.raises(ValueError, match="eps must be a finite number > 0"):
        TabNetPretrainingLoss(eps=-1.0)
    # numpy scalars, as an estimator may pass them, are fine
    net = TabNet(np.int64(4), np.int64(2), n_d=np.int64(4), gamma=np.float64(1.2),
                 momentum=np.float32(0.1), virtual_batch_size=np.int64(8))
    assert net(torch.randn(16, 4)).shape == (16, 2)


def test_a_diverging_network_gives_nan_not_an_index_error():
    net = small_net()
    with torch.no_grad():
        net.encoder.attentive_transformers[0].fc.weight.fill_(float("nan"))
    out = net(torch.randn(32, 6))
    assert torch.isnan(out).all()
    assert not torch.isfinite(torch.nn.functional.cross_entropy(out, torch.zeros(32).long()))
