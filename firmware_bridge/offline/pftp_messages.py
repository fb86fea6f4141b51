"""The PSFTP protobuf messages stridewatch uses, built with protobuf's descriptor API.

Polar's file transfer carries proto2 messages (``pftp_request.proto``,
``pftp_response.proto``, ``pftp_error.proto`` in polarofficial/polar-ble-sdk). Only the
fields needed to list, read and remove files are declared here; fields a device sends
that are not declared (e.g. the entries' ``created`` / ``modified`` times) are kept by
protobuf as unknown fields and ignored. The field numbers and types follow the .proto
files exactly, so the bytes are those of Polar's own generated code.
"""

from __future__ import annotations

import enum

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_PACKAGE = "stridewatch.pftp"


def _build_file() -> descriptor_pb2.FileDescriptorProto:
    f = descriptor_pb2.FileDescriptorProto(
        name="stridewatch_pftp.proto", package=_PACKAGE, syntax="proto2"
    )
    label = descriptor_pb2.FieldDescriptorProto
    # message PbPFtpOperation { enum Command {GET=0; PUT=1; MERGE=2; REMOVE=3;}
    #                           required Command command = 1; required string path = 2; }
    operation = f.message_type.add(name="PbPFtpOperation")
    command = operation.enum_type.add(name="Command")
    for name, number in (("GET", 0), ("PUT", 1), ("MERGE", 2), ("REMOVE", 3)):
        command.value.add(name=name, number=number)
    operation.field.add(
        name="command", number=1, label=label.LABEL_REQUIRED, type=label.TYPE_ENUM,
        type_name=f".{_PACKAGE}.PbPFtpOperation.Command",
    )
    operation.field.add(name="path", number=2, label=label.LABEL_REQUIRED, type=label.TYPE_STRING)
    # message PbPFtpEntry { required string name = 1; required uint64 size = 2; ... }
    entry = f.message_type.add(name="PbPFtpEntry")
    entry.field.add(name="name", number=1, label=label.LABEL_REQUIRED, type=label.TYPE_STRING)
    entry.field.add(name="size", number=2, label=label.LABEL_REQUIRED, type=label.TYPE_UINT64)
    # message PbPFtpDirectory { repeated PbPFtpEntry entries = 1; }
    directory = f.message_type.add(name="PbPFtpDirectory")
    directory.field.add(
        name="entries", number=1, label=label.LABEL_REPEATED, type=label.TYPE_MESSAGE,
        type_name=f".{_PACKAGE}.PbPFtpEntry",
    )
    return f


_POOL = descriptor_pool.DescriptorPool()
_FILE = _POOL.Add(_build_file())

PbPFtpOperation = message_factory.GetMessageClass(
    _POOL.FindMessageTypeByName(f"{_PACKAGE}.PbPFtpOperation")
)
PbPFtpEntry = message_factory.GetMessageClass(
    _POOL.FindMessageTypeByName(f"{_PACKAGE}.PbPFtpEntry")
)
PbPFtpDirectory = message_factory.GetMessageClass(
    _POOL.FindMessageTypeByName(f"{_PACKAGE}.PbPFtpDirectory")
)


class Command(enum.IntEnum):
    """``PbPFtpOperation.Command``."""

    GET = 0
    PUT = 1
    MERGE = 2
    REMOVE = 3


class PftpError(enum.IntEnum):
    """``PbPFtpError`` (pftp_error.proto): the codes a device answers a request with."""

    OPERATION_SUCCEEDED = 0
    REBOOTING = 1
    TRY_AGAIN = 2
    UNIDENTIFIED_HOST_ERROR = 100
    INVALID_COMMAND = 101
    INVALID_PARAMETER = 102
    NO_SUCH_FILE_OR_DIRECTORY = 103
    DIRECTORY_EXISTS = 104
    FILE_EXISTS = 105
    OPERATION_NOT_PERMITTED = 106
    NO_SUCH_USER = 107
    TIMEOUT = 108
    UNIDENTIFIED_DEVICE_ERROR = 200
    NOT_IMPLEMENTED = 201
    SYSTEM_BUSY = 202
    INVALID_CONTENT = 203
    CHECKSUM_FAILURE = 204
    DISK_FULL = 205
    PREREQUISITE_NOT_MET = 206
    INSUFFICIENT_BUFFER = 207
    WAIT_FOR_IDLING = 208
    BATTERY_TOO_LOW = 209


def error_name(code: int) -> str:
    """``"SYSTEM_BUSY"`` for 202; ``"UNKNOWN_<n>"`` for codes not in pftp_error.proto."""
    try:
        return PftpError(code).name
    except ValueError:
        return f"UNKNOWN_{code}"


def operation(command: Command, path: str) -> bytes:
    """A serialised ``PbPFtpOperation`` (e.g. GET of ``/U/0/``)."""
    message = PbPFtpOperation()
    message.command = int(command)
    message.path = path
    return message.SerializeToString()


def parse_operation(data: bytes) -> tuple[Command, str]:
    """(command, path) of a serialised ``PbPFtpOperation``; ValueError if it is not one."""
    message = PbPFtpOperation()
    try:
        message.ParseFromString(data)
    except Exception as error:  # protobuf raises DecodeError (a subclass of Exception)
        raise ValueError(f"not a PbPFtpOperation: {error}") from error
    if not message.IsInitialized():
        raise ValueError("PbPFtpOperation lacks its command or path")
    return Command(message.command), message.path


def directory(entries: list[tuple[str, int]]) -> bytes:
    """A serialised ``PbPFtpDirectory`` of (name, size) entries (names of folders end in /)."""
    message = PbPFtpDirectory()
    for name, size in entries:
        item = message.entries.add()
        item.name = name
        item.size = int(size)
    return message.SerializeToString()


def parse_directory(data: bytes) -> list[tuple[str, int]]:
    """(name, size) of each entry of a serialised ``PbPFtpDirectory``."""
    message = PbPFtpDirectory()
    try:
        message.ParseFromString(data)
    except Exception as error:
        raise ValueError(f"not a PbPFtpDirectory: {error}") from error
    return [(item.name, int(item.size)) for item in message.entries]
