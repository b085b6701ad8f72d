# SPDX-License-Identifier: LGPL-2.1-or-later
"""python-dbusmock template: the stock polkitd template, plus actions that need a challenge.

Everything of dbusmock.templates.polkitd (SetAllowed, AllowUnknown, SetDelay, SimulateHang, ...)
is here unchanged; CheckAuthorization additionally knows "challenge" actions (SetChallenge):
for those, a caller that did not allow user interaction (flags bit 0 clear) gets
(false, true, {}) — polkit's "an authentication agent could authorize this" — and one that did
gets (true, false, {}), as if an agent had asked and the password was right.

Run: python3 -m dbusmock --template tests/dbus/polkitd_challenge.py (bus from
DBUS_SYSTEM_BUS_ADDRESS). Every CheckAuthorization call is in GetMethodCalls("CheckAuthorization").
"""

import dbus

from dbusmock import MOCK_IFACE
from dbusmock.templates import polkitd as _stock
from dbusmock.templates.polkitd import *  # noqa: F401,F403 — the stock methods, picked up by AddTemplate

BUS_NAME = _stock.BUS_NAME
MAIN_OBJ = _stock.MAIN_OBJ
MAIN_IFACE = _stock.MAIN_IFACE
SYSTEM_BUS = True

ALLOW_USER_INTERACTION = 1


def load(mock, parameters):
    _stock.load(mock, parameters)
    mock.challenge = []


@dbus.service.method(MAIN_IFACE, in_signature='(sa{sv})sa{ss}us', out_signature='(bba{ss})',
                     async_callbacks=('ok_cb', 'err_cb'))
def CheckAuthorization(self, subject, action_id, details, flags, cancellation_id, ok_cb, err_cb):
    if action_id in self.challenge and action_id not in self.allowed and not self.allow_unknown:
        if flags & ALLOW_USER_INTERACTION:
            ok_cb((True, False, {}))
        else:
            ok_cb((False, True, {}))
        return
    # The stock template's answer (allowed list, delay, hangs).
    _stock.CheckAuthorization(self, subject, action_id, details, flags, cancellation_id, ok_cb, err_cb)


@dbus.service.method(MOCK_IFACE, in_signature='as', out_signature='')
def SetChallenge(self, actions):
    '''Actions that need interactive authorization (see the module's text).'''
    self.challenge = list(actions)
