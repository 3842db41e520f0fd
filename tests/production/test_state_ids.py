"""The ids a state batch gives its new intervals are ordinary random UUIDs (built without
`UUID.__init__`, so checked here as the rest of the code uses them)."""

from __future__ import annotations

import copy
import pickle
import uuid

from factoryos.production import state_batch


def test_new_interval_ids_are_random_version_4_uuids_like_any_other() -> None:
    ids = [state_batch._new_id() for _ in range(2000)]  # more than one pool of 512
    assert len(set(ids)) == len(ids)
    for made in ids:
        twin = uuid.UUID(str(made))
        assert type(made) is uuid.UUID
        assert made.version == 4 and made.variant == uuid.RFC_4122
        assert made == twin and hash(made) == hash(twin) and made.bytes == twin.bytes
        assert made.is_safe is uuid.SafeUUID.unknown
    assert pickle.loads(pickle.dumps(ids[0])) == ids[0] and copy.deepcopy(ids[1]) == ids[1]
    assert sorted(ids, key=str) == sorted(ids)  # ordered as their text, as the database orders them
