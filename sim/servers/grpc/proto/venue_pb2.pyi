from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Side(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SIDE_UNSPECIFIED: _ClassVar[Side]
    BUY: _ClassVar[Side]
    SELL: _ClassVar[Side]

class OrderType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ORDER_TYPE_UNSPECIFIED: _ClassVar[OrderType]
    LIMIT: _ClassVar[OrderType]
    POST_ONLY: _ClassVar[OrderType]
    IOC: _ClassVar[OrderType]
    MARKET: _ClassVar[OrderType]

class Liquidity(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LIQUIDITY_UNSPECIFIED: _ClassVar[Liquidity]
    MAKER: _ClassVar[Liquidity]
    TAKER: _ClassVar[Liquidity]
SIDE_UNSPECIFIED: Side
BUY: Side
SELL: Side
ORDER_TYPE_UNSPECIFIED: OrderType
LIMIT: OrderType
POST_ONLY: OrderType
IOC: OrderType
MARKET: OrderType
LIQUIDITY_UNSPECIFIED: Liquidity
MAKER: Liquidity
TAKER: Liquidity

class Instrument(_message.Message):
    __slots__ = ("symbol", "base", "quote", "tick_size", "lot_size", "min_qty_lots", "min_notional")
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    BASE_FIELD_NUMBER: _ClassVar[int]
    QUOTE_FIELD_NUMBER: _ClassVar[int]
    TICK_SIZE_FIELD_NUMBER: _ClassVar[int]
    LOT_SIZE_FIELD_NUMBER: _ClassVar[int]
    MIN_QTY_LOTS_FIELD_NUMBER: _ClassVar[int]
    MIN_NOTIONAL_FIELD_NUMBER: _ClassVar[int]
    symbol: str
    base: str
    quote: str
    tick_size: str
    lot_size: str
    min_qty_lots: int
    min_notional: str
    def __init__(self, symbol: _Optional[str] = ..., base: _Optional[str] = ..., quote: _Optional[str] = ..., tick_size: _Optional[str] = ..., lot_size: _Optional[str] = ..., min_qty_lots: _Optional[int] = ..., min_notional: _Optional[str] = ...) -> None: ...

class InstrumentsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class InstrumentsReply(_message.Message):
    __slots__ = ("instruments",)
    INSTRUMENTS_FIELD_NUMBER: _ClassVar[int]
    instruments: _containers.RepeatedCompositeFieldContainer[Instrument]
    def __init__(self, instruments: _Optional[_Iterable[_Union[Instrument, _Mapping]]] = ...) -> None: ...

class Level(_message.Message):
    __slots__ = ("price_ticks", "qty_lots")
    PRICE_TICKS_FIELD_NUMBER: _ClassVar[int]
    QTY_LOTS_FIELD_NUMBER: _ClassVar[int]
    price_ticks: int
    qty_lots: int
    def __init__(self, price_ticks: _Optional[int] = ..., qty_lots: _Optional[int] = ...) -> None: ...

class BookSnapshot(_message.Message):
    __slots__ = ("bids", "asks")
    BIDS_FIELD_NUMBER: _ClassVar[int]
    ASKS_FIELD_NUMBER: _ClassVar[int]
    bids: _containers.RepeatedCompositeFieldContainer[Level]
    asks: _containers.RepeatedCompositeFieldContainer[Level]
    def __init__(self, bids: _Optional[_Iterable[_Union[Level, _Mapping]]] = ..., asks: _Optional[_Iterable[_Union[Level, _Mapping]]] = ...) -> None: ...

class BookDiff(_message.Message):
    __slots__ = ("bids", "asks")
    BIDS_FIELD_NUMBER: _ClassVar[int]
    ASKS_FIELD_NUMBER: _ClassVar[int]
    bids: _containers.RepeatedCompositeFieldContainer[Level]
    asks: _containers.RepeatedCompositeFieldContainer[Level]
    def __init__(self, bids: _Optional[_Iterable[_Union[Level, _Mapping]]] = ..., asks: _Optional[_Iterable[_Union[Level, _Mapping]]] = ...) -> None: ...

class PublicTrade(_message.Message):
    __slots__ = ("trade_id", "price_ticks", "qty_lots", "aggressor")
    TRADE_ID_FIELD_NUMBER: _ClassVar[int]
    PRICE_TICKS_FIELD_NUMBER: _ClassVar[int]
    QTY_LOTS_FIELD_NUMBER: _ClassVar[int]
    AGGRESSOR_FIELD_NUMBER: _ClassVar[int]
    trade_id: str
    price_ticks: int
    qty_lots: int
    aggressor: Side
    def __init__(self, trade_id: _Optional[str] = ..., price_ticks: _Optional[int] = ..., qty_lots: _Optional[int] = ..., aggressor: _Optional[_Union[Side, str]] = ...) -> None: ...

class Heartbeat(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StreamMarketRequest(_message.Message):
    __slots__ = ("symbol", "depth")
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    DEPTH_FIELD_NUMBER: _ClassVar[int]
    symbol: str
    depth: int
    def __init__(self, symbol: _Optional[str] = ..., depth: _Optional[int] = ...) -> None: ...

class MarketMessage(_message.Message):
    __slots__ = ("session_id", "seq", "exchange_ts_ns", "snapshot", "diff", "trade", "heartbeat")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    EXCHANGE_TS_NS_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    DIFF_FIELD_NUMBER: _ClassVar[int]
    TRADE_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    seq: int
    exchange_ts_ns: int
    snapshot: BookSnapshot
    diff: BookDiff
    trade: PublicTrade
    heartbeat: Heartbeat
    def __init__(self, session_id: _Optional[str] = ..., seq: _Optional[int] = ..., exchange_ts_ns: _Optional[int] = ..., snapshot: _Optional[_Union[BookSnapshot, _Mapping]] = ..., diff: _Optional[_Union[BookDiff, _Mapping]] = ..., trade: _Optional[_Union[PublicTrade, _Mapping]] = ..., heartbeat: _Optional[_Union[Heartbeat, _Mapping]] = ...) -> None: ...

class OpenOrder(_message.Message):
    __slots__ = ("client_order_id", "side", "price_ticks", "qty_lots", "remaining_lots")
    CLIENT_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    SIDE_FIELD_NUMBER: _ClassVar[int]
    PRICE_TICKS_FIELD_NUMBER: _ClassVar[int]
    QTY_LOTS_FIELD_NUMBER: _ClassVar[int]
    REMAINING_LOTS_FIELD_NUMBER: _ClassVar[int]
    client_order_id: str
    side: Side
    price_ticks: int
    qty_lots: int
    remaining_lots: int
    def __init__(self, client_order_id: _Optional[str] = ..., side: _Optional[_Union[Side, str]] = ..., price_ticks: _Optional[int] = ..., qty_lots: _Optional[int] = ..., remaining_lots: _Optional[int] = ...) -> None: ...

class Fill(_message.Message):
    __slots__ = ("trade_id", "client_order_id", "side", "price_ticks", "qty_lots", "liquidity", "fee", "fee_asset", "exchange_ts_ns", "remaining_lots")
    TRADE_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    SIDE_FIELD_NUMBER: _ClassVar[int]
    PRICE_TICKS_FIELD_NUMBER: _ClassVar[int]
    QTY_LOTS_FIELD_NUMBER: _ClassVar[int]
    LIQUIDITY_FIELD_NUMBER: _ClassVar[int]
    FEE_FIELD_NUMBER: _ClassVar[int]
    FEE_ASSET_FIELD_NUMBER: _ClassVar[int]
    EXCHANGE_TS_NS_FIELD_NUMBER: _ClassVar[int]
    REMAINING_LOTS_FIELD_NUMBER: _ClassVar[int]
    trade_id: str
    client_order_id: str
    side: Side
    price_ticks: int
    qty_lots: int
    liquidity: Liquidity
    fee: str
    fee_asset: str
    exchange_ts_ns: int
    remaining_lots: int
    def __init__(self, trade_id: _Optional[str] = ..., client_order_id: _Optional[str] = ..., side: _Optional[_Union[Side, str]] = ..., price_ticks: _Optional[int] = ..., qty_lots: _Optional[int] = ..., liquidity: _Optional[_Union[Liquidity, str]] = ..., fee: _Optional[str] = ..., fee_asset: _Optional[str] = ..., exchange_ts_ns: _Optional[int] = ..., remaining_lots: _Optional[int] = ...) -> None: ...

class OpenOrdersSnapshot(_message.Message):
    __slots__ = ("orders",)
    ORDERS_FIELD_NUMBER: _ClassVar[int]
    orders: _containers.RepeatedCompositeFieldContainer[OpenOrder]
    def __init__(self, orders: _Optional[_Iterable[_Union[OpenOrder, _Mapping]]] = ...) -> None: ...

class Ack(_message.Message):
    __slots__ = ("client_order_id",)
    CLIENT_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    client_order_id: str
    def __init__(self, client_order_id: _Optional[str] = ...) -> None: ...

class Cancelled(_message.Message):
    __slots__ = ("client_order_id", "reason")
    CLIENT_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    client_order_id: str
    reason: str
    def __init__(self, client_order_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class StreamOrdersRequest(_message.Message):
    __slots__ = ("symbol",)
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    symbol: str
    def __init__(self, symbol: _Optional[str] = ...) -> None: ...

class OrderMessage(_message.Message):
    __slots__ = ("session_id", "seq", "exchange_ts_ns", "snapshot", "ack", "cancelled", "fill", "heartbeat")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    EXCHANGE_TS_NS_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    ACK_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_FIELD_NUMBER: _ClassVar[int]
    FILL_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    seq: int
    exchange_ts_ns: int
    snapshot: OpenOrdersSnapshot
    ack: Ack
    cancelled: Cancelled
    fill: Fill
    heartbeat: Heartbeat
    def __init__(self, session_id: _Optional[str] = ..., seq: _Optional[int] = ..., exchange_ts_ns: _Optional[int] = ..., snapshot: _Optional[_Union[OpenOrdersSnapshot, _Mapping]] = ..., ack: _Optional[_Union[Ack, _Mapping]] = ..., cancelled: _Optional[_Union[Cancelled, _Mapping]] = ..., fill: _Optional[_Union[Fill, _Mapping]] = ..., heartbeat: _Optional[_Union[Heartbeat, _Mapping]] = ...) -> None: ...

class PlaceRequest(_message.Message):
    __slots__ = ("symbol", "client_order_id", "side", "order_type", "price_ticks", "qty_lots")
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    SIDE_FIELD_NUMBER: _ClassVar[int]
    ORDER_TYPE_FIELD_NUMBER: _ClassVar[int]
    PRICE_TICKS_FIELD_NUMBER: _ClassVar[int]
    QTY_LOTS_FIELD_NUMBER: _ClassVar[int]
    symbol: str
    client_order_id: str
    side: Side
    order_type: OrderType
    price_ticks: int
    qty_lots: int
    def __init__(self, symbol: _Optional[str] = ..., client_order_id: _Optional[str] = ..., side: _Optional[_Union[Side, str]] = ..., order_type: _Optional[_Union[OrderType, str]] = ..., price_ticks: _Optional[int] = ..., qty_lots: _Optional[int] = ...) -> None: ...

class PlaceReply(_message.Message):
    __slots__ = ("status", "reject_reason", "order")
    class Status(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATUS_UNSPECIFIED: _ClassVar[PlaceReply.Status]
        ACCEPTED: _ClassVar[PlaceReply.Status]
        REJECTED: _ClassVar[PlaceReply.Status]
        DUPLICATE: _ClassVar[PlaceReply.Status]
    STATUS_UNSPECIFIED: PlaceReply.Status
    ACCEPTED: PlaceReply.Status
    REJECTED: PlaceReply.Status
    DUPLICATE: PlaceReply.Status
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REJECT_REASON_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    status: PlaceReply.Status
    reject_reason: str
    order: OrderReport
    def __init__(self, status: _Optional[_Union[PlaceReply.Status, str]] = ..., reject_reason: _Optional[str] = ..., order: _Optional[_Union[OrderReport, _Mapping]] = ...) -> None: ...

class CancelRequest(_message.Message):
    __slots__ = ("symbol", "client_order_id")
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    symbol: str
    client_order_id: str
    def __init__(self, symbol: _Optional[str] = ..., client_order_id: _Optional[str] = ...) -> None: ...

class CancelReply(_message.Message):
    __slots__ = ("status",)
    class Status(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATUS_UNSPECIFIED: _ClassVar[CancelReply.Status]
        CANCELLED: _ClassVar[CancelReply.Status]
        UNKNOWN_ORDER: _ClassVar[CancelReply.Status]
    STATUS_UNSPECIFIED: CancelReply.Status
    CANCELLED: CancelReply.Status
    UNKNOWN_ORDER: CancelReply.Status
    STATUS_FIELD_NUMBER: _ClassVar[int]
    status: CancelReply.Status
    def __init__(self, status: _Optional[_Union[CancelReply.Status, str]] = ...) -> None: ...

class CancelAllRequest(_message.Message):
    __slots__ = ("symbol",)
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    symbol: str
    def __init__(self, symbol: _Optional[str] = ...) -> None: ...

class CancelAllReply(_message.Message):
    __slots__ = ("cancelled",)
    CANCELLED_FIELD_NUMBER: _ClassVar[int]
    cancelled: int
    def __init__(self, cancelled: _Optional[int] = ...) -> None: ...

class OpenOrdersRequest(_message.Message):
    __slots__ = ("symbol",)
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    symbol: str
    def __init__(self, symbol: _Optional[str] = ...) -> None: ...

class OpenOrdersReply(_message.Message):
    __slots__ = ("orders",)
    ORDERS_FIELD_NUMBER: _ClassVar[int]
    orders: _containers.RepeatedCompositeFieldContainer[OpenOrder]
    def __init__(self, orders: _Optional[_Iterable[_Union[OpenOrder, _Mapping]]] = ...) -> None: ...

class OrderStatusRequest(_message.Message):
    __slots__ = ("symbol", "client_order_id")
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    symbol: str
    client_order_id: str
    def __init__(self, symbol: _Optional[str] = ..., client_order_id: _Optional[str] = ...) -> None: ...

class OrderReport(_message.Message):
    __slots__ = ("client_order_id", "status", "side", "price_ticks", "qty_lots", "filled_lots")
    class Status(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATUS_UNSPECIFIED: _ClassVar[OrderReport.Status]
        OPEN: _ClassVar[OrderReport.Status]
        FILLED: _ClassVar[OrderReport.Status]
        CANCELLED: _ClassVar[OrderReport.Status]
        REJECTED: _ClassVar[OrderReport.Status]
        NOT_FOUND: _ClassVar[OrderReport.Status]
    STATUS_UNSPECIFIED: OrderReport.Status
    OPEN: OrderReport.Status
    FILLED: OrderReport.Status
    CANCELLED: OrderReport.Status
    REJECTED: OrderReport.Status
    NOT_FOUND: OrderReport.Status
    CLIENT_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SIDE_FIELD_NUMBER: _ClassVar[int]
    PRICE_TICKS_FIELD_NUMBER: _ClassVar[int]
    QTY_LOTS_FIELD_NUMBER: _ClassVar[int]
    FILLED_LOTS_FIELD_NUMBER: _ClassVar[int]
    client_order_id: str
    status: OrderReport.Status
    side: Side
    price_ticks: int
    qty_lots: int
    filled_lots: int
    def __init__(self, client_order_id: _Optional[str] = ..., status: _Optional[_Union[OrderReport.Status, str]] = ..., side: _Optional[_Union[Side, str]] = ..., price_ticks: _Optional[int] = ..., qty_lots: _Optional[int] = ..., filled_lots: _Optional[int] = ...) -> None: ...

class FillsSinceRequest(_message.Message):
    __slots__ = ("symbol", "since_ns")
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    SINCE_NS_FIELD_NUMBER: _ClassVar[int]
    symbol: str
    since_ns: int
    def __init__(self, symbol: _Optional[str] = ..., since_ns: _Optional[int] = ...) -> None: ...

class FillsSinceReply(_message.Message):
    __slots__ = ("fills",)
    FILLS_FIELD_NUMBER: _ClassVar[int]
    fills: _containers.RepeatedCompositeFieldContainer[Fill]
    def __init__(self, fills: _Optional[_Iterable[_Union[Fill, _Mapping]]] = ...) -> None: ...

class AccountRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AccountReply(_message.Message):
    __slots__ = ("balances", "positions")
    class BalancesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class PositionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    BALANCES_FIELD_NUMBER: _ClassVar[int]
    POSITIONS_FIELD_NUMBER: _ClassVar[int]
    balances: _containers.ScalarMap[str, str]
    positions: _containers.ScalarMap[str, str]
    def __init__(self, balances: _Optional[_Mapping[str, str]] = ..., positions: _Optional[_Mapping[str, str]] = ...) -> None: ...

class PingRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PingReply(_message.Message):
    __slots__ = ("server_ts_ns", "session_id", "heartbeat_interval_ms")
    SERVER_TS_NS_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_INTERVAL_MS_FIELD_NUMBER: _ClassVar[int]
    server_ts_ns: int
    session_id: str
    heartbeat_interval_ms: int
    def __init__(self, server_ts_ns: _Optional[int] = ..., session_id: _Optional[str] = ..., heartbeat_interval_ms: _Optional[int] = ...) -> None: ...
