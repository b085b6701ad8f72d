# SPDX-License-Identifier: LGPL-2.1-or-later
"""python-dbusmock template: the part of firewalld's D-Bus API that ntpsyncd uses.

  /org/fedoraproject/FirewallD1
    org.fedoraproject.FirewallD1        getDefaultZone() -> s, queryPanicMode() -> b
    org.fedoraproject.FirewallD1.zone   addService(s zone, s service, i timeout) -> s,
                                        removeService(s zone, s service) -> s,
                                        queryService(s zone, s service) -> b, getServices(s) -> as,
                                        addPort(s zone, s port, s protocol, i timeout) -> s,
                                        removePort(s zone, s port, s protocol) -> s,
                                        queryPort(s zone, s port, s protocol) -> b
  /org/fedoraproject/FirewallD1/config
    org.fedoraproject.FirewallD1.config getZoneByName(s) -> o
  /org/fedoraproject/FirewallD1/config/zone/N  (one per zone)
    org.fedoraproject.FirewallD1.config.zone  addService(s), removeService(s), queryService(s) -> b,
                                              getServices() -> as, addPort(ss), removePort(ss),
                                              queryPort(ss) -> b

Errors as firewalld raises them: org.fedoraproject.FirewallD1.Exception with "ALREADY_ENABLED: ntp",
"NOT_ENABLED: ntp", "ALREADY_ENABLED: 4460:tcp", "INVALID_ZONE: name". Runtime and permanent
services and ports ("4460/tcp") are kept apart.

Test controls (org.freedesktop.DBus.Mock on the main object): SetDefaultZone(s), SetPanicMode(b),
SetServices(s zone, as runtime, as permanent), GetServices(s zone) -> (as runtime, as permanent),
SetPorts and GetPorts the same for ports ("4460/tcp"),
SetFailPermanent(b) (config.zone add/remove then fail with NotAuthorizedException),
SetFailPortPermanent(b) (the same for config.zone addPort/removePort only),
SetHang(b) (a firewalld that hangs: every call of its interfaces is taken and never answered;
the parameter {"Hang": true} hangs from the start). EmitSignal (dbusmock's own) sends firewalld's
signals, e.g. EmitSignal("org.fedoraproject.FirewallD1", "Reloaded", "", []).
Every answered call is in GetMethodCalls() of the object it went to.

Run: python3 -m dbusmock --template tests/firewall/firewalld_mock.py (bus from
DBUS_SYSTEM_BUS_ADDRESS).
"""

import dbus
import dbus.lowlevel

import dbusmock.mockobject
from dbusmock import MOCK_IFACE

BUS_NAME = "org.fedoraproject.FirewallD1"
MAIN_OBJ = "/org/fedoraproject/FirewallD1"
MAIN_IFACE = "org.fedoraproject.FirewallD1"
ZONE_IFACE = "org.fedoraproject.FirewallD1.zone"
CONFIG_OBJ = "/org/fedoraproject/FirewallD1/config"
CONFIG_IFACE = "org.fedoraproject.FirewallD1.config"
CONFIG_ZONE_IFACE = "org.fedoraproject.FirewallD1.config.zone"
SYSTEM_BUS = True

ZONES = ["block", "dmz", "drop", "external", "home", "internal", "public", "trusted", "work"]

# Code run inside the mock (dbusmock's AddMethod): `self` is the object called, `objects` maps
# paths to objects, `args` holds the arguments, `ret` is the return value.
_PRELUDE = """
main = objects['%s']
def fail(code, what, name='org.fedoraproject.FirewallD1.Exception'):
    raise dbus.exceptions.DBusException('%%s: %%s' %% (code, what), name=name)
""" % MAIN_OBJ

_RUNTIME_ADD = _PRELUDE + """
zone = args[0] or main.fw_default_zone
if zone not in main.fw_runtime:
    fail('INVALID_ZONE', zone)
if args[1] in main.fw_runtime[zone]:
    fail('ALREADY_ENABLED', args[1])
main.fw_runtime[zone].append(args[1])
ret = zone
"""

_RUNTIME_REMOVE = _PRELUDE + """
zone = args[0] or main.fw_default_zone
if zone not in main.fw_runtime:
    fail('INVALID_ZONE', zone)
if args[1] not in main.fw_runtime[zone]:
    fail('NOT_ENABLED', args[1])
main.fw_runtime[zone].remove(args[1])
ret = zone
"""

_RUNTIME_QUERY = _PRELUDE + """
zone = args[0] or main.fw_default_zone
if zone not in main.fw_runtime:
    fail('INVALID_ZONE', zone)
ret = args[1] in main.fw_runtime[zone]
"""

_GET_ZONE = _PRELUDE + """
if args[0] not in main.fw_permanent:
    fail('INVALID_ZONE', args[0])
ret = dbus.ObjectPath('%s/zone/%%d' %% sorted(main.fw_permanent).index(args[0]))
""" % CONFIG_OBJ

_PERMANENT_ADD = _PRELUDE + """
if main.fw_fail_permanent:
    fail('NOT_AUTHORIZED', 'config', name='org.fedoraproject.FirewallD1.NotAuthorizedException')
services = main.fw_permanent[self.fw_zone]
if args[0] in services:
    fail('ALREADY_ENABLED', args[0])
services.append(args[0])
"""

_PERMANENT_REMOVE = _PRELUDE + """
if main.fw_fail_permanent:
    fail('NOT_AUTHORIZED', 'config', name='org.fedoraproject.FirewallD1.NotAuthorizedException')
services = main.fw_permanent[self.fw_zone]
if args[0] not in services:
    fail('NOT_ENABLED', args[0])
services.remove(args[0])
"""

_PERMANENT_QUERY = _PRELUDE + """
ret = args[0] in main.fw_permanent[self.fw_zone]
"""

_RUNTIME_PORT_ADD = _PRELUDE + """
zone = args[0] or main.fw_default_zone
if zone not in main.fw_runtime_ports:
    fail('INVALID_ZONE', zone)
port = '%s/%s' % (args[1], args[2])
if port in main.fw_runtime_ports[zone]:
    fail('ALREADY_ENABLED', '%s:%s' % (args[1], args[2]))
main.fw_runtime_ports[zone].append(port)
ret = zone
"""

_RUNTIME_PORT_REMOVE = _PRELUDE + """
zone = args[0] or main.fw_default_zone
if zone not in main.fw_runtime_ports:
    fail('INVALID_ZONE', zone)
port = '%s/%s' % (args[1], args[2])
if port not in main.fw_runtime_ports[zone]:
    fail('NOT_ENABLED', '%s:%s' % (args[1], args[2]))
main.fw_runtime_ports[zone].remove(port)
ret = zone
"""

_RUNTIME_PORT_QUERY = _PRELUDE + """
zone = args[0] or main.fw_default_zone
if zone not in main.fw_runtime_ports:
    fail('INVALID_ZONE', zone)
ret = '%s/%s' % (args[1], args[2]) in main.fw_runtime_ports[zone]
"""

_PERMANENT_PORT_ADD = _PRELUDE + """
if main.fw_fail_permanent or main.fw_fail_port_permanent:
    fail('NOT_AUTHORIZED', 'config', name='org.fedoraproject.FirewallD1.NotAuthorizedException')
ports = main.fw_permanent_ports[self.fw_zone]
port = '%s/%s' % (args[0], args[1])
if port in ports:
    fail('ALREADY_ENABLED', '%s:%s' % (args[0], args[1]))
ports.append(port)
"""

_PERMANENT_PORT_REMOVE = _PRELUDE + """
if main.fw_fail_permanent or main.fw_fail_port_permanent:
    fail('NOT_AUTHORIZED', 'config', name='org.fedoraproject.FirewallD1.NotAuthorizedException')
ports = main.fw_permanent_ports[self.fw_zone]
port = '%s/%s' % (args[0], args[1])
if port not in ports:
    fail('NOT_ENABLED', '%s:%s' % (args[0], args[1]))
ports.remove(port)
"""

_PERMANENT_PORT_QUERY = _PRELUDE + """
ret = '%s/%s' % (args[0], args[1]) in main.fw_permanent_ports[self.fw_zone]
"""


# A firewalld that hangs: set by SetHang() or the parameter Hang.
_hang = {"on": False}


def _swallow(connection, message):
    """Takes calls of firewalld's interfaces and never answers them while hanging; the mock's own
    interface (and Introspectable, Properties) keep answering, so that a test can end the hang."""
    if (_hang["on"] and message.get_type() == dbus.lowlevel.MESSAGE_TYPE_METHOD_CALL
            and (message.get_interface() or "").startswith(MAIN_IFACE)):
        return dbus.lowlevel.HANDLER_RESULT_HANDLED
    return dbus.lowlevel.HANDLER_RESULT_NOT_YET_HANDLED


def load(mock, parameters):
    _hang["on"] = bool(parameters.get("Hang", False))
    mock.connection.add_message_filter(_swallow)
    mock.fw_default_zone = parameters.get("DefaultZone", "public")
    mock.fw_panic = False
    mock.fw_fail_permanent = False
    mock.fw_fail_port_permanent = False
    mock.fw_runtime = {z: ["ssh", "dhcpv6-client"] for z in ZONES}
    mock.fw_permanent = {z: ["ssh", "dhcpv6-client"] for z in ZONES}
    mock.fw_runtime_ports = {z: [] for z in ZONES}
    mock.fw_permanent_ports = {z: [] for z in ZONES}

    mock.AddMethods(MAIN_IFACE, [
        ("getDefaultZone", "", "s", "ret = self.fw_default_zone"),
        ("queryPanicMode", "", "b", "ret = self.fw_panic"),
    ])
    mock.AddMethods(ZONE_IFACE, [
        ("addService", "ssi", "s", _RUNTIME_ADD),
        ("removeService", "ss", "s", _RUNTIME_REMOVE),
        ("queryService", "ss", "b", _RUNTIME_QUERY),
        ("getServices", "s", "as", _PRELUDE + "ret = main.fw_runtime[args[0] or main.fw_default_zone]"),
        ("addPort", "sssi", "s", _RUNTIME_PORT_ADD),
        ("removePort", "sss", "s", _RUNTIME_PORT_REMOVE),
        ("queryPort", "sss", "b", _RUNTIME_PORT_QUERY),
    ])
    mock.AddObject(CONFIG_OBJ, CONFIG_IFACE, {}, [
        ("getZoneByName", "s", "o", _GET_ZONE),
    ])
    for i, zone in enumerate(sorted(mock.fw_permanent)):
        path = "%s/zone/%d" % (CONFIG_OBJ, i)
        mock.AddObject(path, CONFIG_ZONE_IFACE, {}, [
            ("addService", "s", "", _PERMANENT_ADD),
            ("removeService", "s", "", _PERMANENT_REMOVE),
            ("queryService", "s", "b", _PERMANENT_QUERY),
            ("getServices", "", "as", _PRELUDE + "ret = main.fw_permanent[self.fw_zone]"),
            ("addPort", "ss", "", _PERMANENT_PORT_ADD),
            ("removePort", "ss", "", _PERMANENT_PORT_REMOVE),
            ("queryPort", "ss", "b", _PERMANENT_PORT_QUERY),
        ])
        dbusmock.mockobject.objects[path].fw_zone = zone


@dbus.service.method(MOCK_IFACE, in_signature="s", out_signature="")
def SetDefaultZone(self, zone):
    self.fw_default_zone = str(zone)


@dbus.service.method(MOCK_IFACE, in_signature="b", out_signature="")
def SetPanicMode(self, panic):
    self.fw_panic = bool(panic)


@dbus.service.method(MOCK_IFACE, in_signature="b", out_signature="")
def SetFailPermanent(self, fail):
    self.fw_fail_permanent = bool(fail)


@dbus.service.method(MOCK_IFACE, in_signature="sasas", out_signature="")
def SetServices(self, zone, runtime, permanent):
    self.fw_runtime[str(zone)] = [str(s) for s in runtime]
    self.fw_permanent[str(zone)] = [str(s) for s in permanent]


@dbus.service.method(MOCK_IFACE, in_signature="s", out_signature="asas")
def GetServices(self, zone):
    return (dbus.Array(self.fw_runtime[str(zone)], signature="s"),
            dbus.Array(self.fw_permanent[str(zone)], signature="s"))


@dbus.service.method(MOCK_IFACE, in_signature="b", out_signature="")
def SetFailPortPermanent(self, fail):
    self.fw_fail_port_permanent = bool(fail)


@dbus.service.method(MOCK_IFACE, in_signature="sasas", out_signature="")
def SetPorts(self, zone, runtime, permanent):
    self.fw_runtime_ports[str(zone)] = [str(s) for s in runtime]
    self.fw_permanent_ports[str(zone)] = [str(s) for s in permanent]


@dbus.service.method(MOCK_IFACE, in_signature="s", out_signature="asas")
def GetPorts(self, zone):
    return (dbus.Array(self.fw_runtime_ports[str(zone)], signature="s"),
            dbus.Array(self.fw_permanent_ports[str(zone)], signature="s"))


@dbus.service.method(MOCK_IFACE, in_signature="b", out_signature="")
def SetHang(self, hang):
    _hang["on"] = bool(hang)
