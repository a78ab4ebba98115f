"""`fapiao.murmur2` is Kafka's murmur2, the same as aiokafka's (which the producers use) on any bytes."""

from __future__ import annotations

from aiokafka.partitioner import murmur2 as aiokafka_murmur2
from hypothesis import given
from hypothesis import strategies as st

from fapiao.murmur2 import murmur2, partition_of


@given(st.binary(max_size=64))
def test_it_is_aiokafkas_murmur2(data: bytes) -> None:
    assert murmur2(data) == aiokafka_murmur2(data)


def test_the_java_clients_values() -> None:
    # org.apache.kafka.common.utils.Utils.murmur2, toPositive(...) % n
    assert partition_of(b"21", 1000) == (-973932308 & 0x7FFFFFFF) % 1000
    assert partition_of(b"foobar", 7) == (-790332482 & 0x7FFFFFFF) % 7
    assert [murmur2(b"a" * n) == aiokafka_murmur2(b"a" * n) for n in range(9)] == [True] * 9
