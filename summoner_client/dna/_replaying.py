"""What ``ClientTranslation`` and ``ClientMerger`` share: the per-kind ``initiate_*`` methods.

Both rebuild handlers kind by kind in one fixed order (spec §10.2, §10.3); they differ only in
where the entries come from, which each says through ``_initiate`` and ``_sender_entries``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from summoner_client.client.client import SummonerClient
from summoner_client.dna._replay import check_flow_for_senders

__all__ = ["ReplayingClient"]


class ReplayingClient(SummonerClient):
    """A client that rebuilds its handlers from recorded entries, one kind at a time."""

    def _initiate(self, kind: str) -> None:
        """Rebuild and register every entry of ``kind`` (``"hook"``, ``"receive"``, ...)."""
        raise NotImplementedError

    def _sender_entries(self) -> Iterable[dict[str, Any]]:
        """Every entry the flow check of ``initiate_senders`` must see before any sender registers."""
        raise NotImplementedError

    def initiate_upload_states(self) -> None:
        """Rebuild the ``upload_states`` callback; a later source replaces an earlier one."""
        self._initiate("upload_states")

    def initiate_download_states(self) -> None:
        """Rebuild the ``download_states`` callback; a later source replaces an earlier one."""
        self._initiate("download_states")

    def initiate_hooks(self) -> None:
        """Rebuild every hook, in recorded order."""
        self._initiate("hook")

    def initiate_receivers(self) -> None:
        """Rebuild every receiver, in recorded order."""
        self._initiate("receive")

    def initiate_senders(self) -> None:
        """Rebuild every sender, in recorded order, once the flow check has passed for all of them.

        Raises:
            FlowStateError: (a ``RuntimeError``) the flow is inactive and a sender needs it; raised
                before any sender is registered.
        """
        check_flow_for_senders(self, list(self._sender_entries()), type(self).__name__)
        self._initiate("send")

    def initiate_all(self) -> None:
        """Upload and download callbacks, hooks, receivers, then senders."""
        self.initiate_upload_states()
        self.initiate_download_states()
        self.initiate_hooks()
        self.initiate_receivers()
        self.initiate_senders()
