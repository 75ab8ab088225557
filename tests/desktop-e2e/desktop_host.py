#!/usr/bin/python3
"""The parts of a Linux desktop the Ferret app talks to, for the end-to-end run under Xvfb.

A bare X server has no panel, no notification daemon and no clipboard owner, so this process
plays them on the private session bus, speaking the same protocols a real desktop does:

- a system tray: `org.kde.StatusNotifierWatcher` (what KDE, GNOME's AppIndicator extension
  and most panels implement). The app's tray icon registers with it; the host reads the item's
  properties (`org.kde.StatusNotifierItem`) and its menu (`com.canonical.dbusmenu`) and clicks
  menu items the way a panel does (`Event(id, "clicked")`);
- a notification daemon: `org.freedesktop.Notifications`, recording every `Notify`;
- a clipboard owner (GTK), for "Search clipboard".

The test drives it with one JSON object per line on stdin and reads one JSON reply per line
on stdout:

  {"cmd": "wait_item", "count": N}     -> {"service": ..., "path": ...} once N icons registered
                                          (an app that restarts registers again)
  {"cmd": "props"}                     -> the item's properties (IconName, Status, Menu, ...)
  {"cmd": "menu"}                      -> the menu tree: [{"id", "label", "enabled",
                                          "toggle_state", "children"}]
  {"cmd": "click", "label": REGEX}     -> clicks the first item whose label matches
  {"cmd": "notifications"}             -> [{"summary", "body", "app_name"}]
  {"cmd": "set_clipboard", "text": T}  -> {"ok": true}

Errors come back as {"error": "..."}. It exits when stdin closes.
"""

import json
import re
import sys
import time

import gi

gi.require_version("Gtk", "3.0")
from gi.repository import Gio, GLib, Gtk  # noqa: E402

WATCHER_XML = """
<node>
  <interface name="org.kde.StatusNotifierWatcher">
    <method name="RegisterStatusNotifierItem"><arg name="service" type="s" direction="in"/></method>
    <method name="RegisterStatusNotifierHost"><arg name="service" type="s" direction="in"/></method>
    <property name="RegisteredStatusNotifierItems" type="as" access="read"/>
    <property name="IsStatusNotifierHostRegistered" type="b" access="read"/>
    <property name="ProtocolVersion" type="i" access="read"/>
    <signal name="StatusNotifierItemRegistered"><arg type="s"/></signal>
    <signal name="StatusNotifierItemUnregistered"><arg type="s"/></signal>
    <signal name="StatusNotifierHostRegistered"/>
  </interface>
</node>
"""

NOTIFICATIONS_XML = """
<node>
  <interface name="org.freedesktop.Notifications">
    <method name="Notify">
      <arg type="s" direction="in"/><arg type="u" direction="in"/><arg type="s" direction="in"/>
      <arg type="s" direction="in"/><arg type="s" direction="in"/><arg type="as" direction="in"/>
      <arg type="a{sv}" direction="in"/><arg type="i" direction="in"/>
      <arg type="u" direction="out"/>
    </method>
    <method name="CloseNotification"><arg type="u" direction="in"/></method>
    <method name="GetCapabilities"><arg type="as" direction="out"/></method>
    <method name="GetServerInformation">
      <arg type="s" direction="out"/><arg type="s" direction="out"/>
      <arg type="s" direction="out"/><arg type="s" direction="out"/>
    </method>
    <signal name="NotificationClosed"><arg type="u"/><arg type="u"/></signal>
    <signal name="ActionInvoked"><arg type="u"/><arg type="s"/></signal>
  </interface>
</node>
"""

ITEM_IFACE = "org.kde.StatusNotifierItem"
MENU_IFACE = "com.canonical.dbusmenu"


class Host:
    def __init__(self):
        self.bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)
        self.items = []  # (bus name, object path)
        self.notifications = []
        self.waiting = False
        self.want = 1
        self._export(WATCHER_XML, "/StatusNotifierWatcher", "org.kde.StatusNotifierWatcher", self._watcher_call, self._watcher_prop)
        self._export(NOTIFICATIONS_XML, "/org/freedesktop/Notifications", "org.freedesktop.Notifications", self._notify_call, None)
        self.owned = 0
        for name in ("org.kde.StatusNotifierWatcher", "org.freedesktop.Notifications"):
            Gio.bus_own_name_on_connection(self.bus, name, Gio.BusNameOwnerFlags.NONE, self._owned, None)

    def _owned(self, _conn, name):
        self.owned += 1
        if self.owned == 2:
            reply({"ready": True})

    def _export(self, xml, path, iface, call, prop):
        info = Gio.DBusNodeInfo.new_for_xml(xml).lookup_interface(iface)
        self.bus.register_object(path, info, call, prop, None)

    # ---- org.kde.StatusNotifierWatcher
    def _watcher_call(self, conn, sender, path, iface, method, params, invocation):
        if method == "RegisterStatusNotifierItem":
            (service,) = params.unpack()
            # An item names either its object path (on the caller's connection) or a bus name.
            if service.startswith("/"):
                item = (sender, service)
            else:
                item = (service, "/StatusNotifierItem")
            self.items.append(item)
            invocation.return_value(None)
            conn.emit_signal(None, path, iface, "StatusNotifierItemRegistered", GLib.Variant("(s)", (item[0] + item[1],)))
            if self.waiting and len(self.items) >= self.want:
                self.waiting = False
                reply({"service": item[0], "path": item[1]})
        elif method == "RegisterStatusNotifierHost":
            invocation.return_value(None)
        else:
            invocation.return_dbus_error("org.freedesktop.DBus.Error.UnknownMethod", method)

    def _watcher_prop(self, conn, sender, path, iface, prop):
        if prop == "RegisteredStatusNotifierItems":
            return GLib.Variant("as", [s + p for s, p in self.items])
        if prop == "IsStatusNotifierHostRegistered":
            return GLib.Variant("b", True)
        if prop == "ProtocolVersion":
            return GLib.Variant("i", 0)
        return None

    # ---- org.freedesktop.Notifications
    def _notify_call(self, conn, sender, path, iface, method, params, invocation):
        if method == "Notify":
            app_name, _replaces, _icon, summary, body, _actions, _hints, _timeout = params.unpack()
            self.notifications.append({"app_name": app_name, "summary": summary, "body": body})
            invocation.return_value(GLib.Variant("(u)", (len(self.notifications),)))
        elif method == "GetCapabilities":
            invocation.return_value(GLib.Variant("(as)", (["body"],)))
        elif method == "GetServerInformation":
            invocation.return_value(GLib.Variant("(ssss)", ("ferret-e2e-host", "ferret", "1", "1.2")))
        elif method == "CloseNotification":
            invocation.return_value(None)
        else:
            invocation.return_dbus_error("org.freedesktop.DBus.Error.UnknownMethod", method)

    # ---- the test's commands
    def call(self, name, path, iface, method, args, reply_type):
        return self.bus.call_sync(name, path, iface, method, args, GLib.VariantType(reply_type) if reply_type else None,
                                  Gio.DBusCallFlags.NONE, 5000, None)

    def item(self):
        if not self.items:
            raise RuntimeError("no tray item has registered")
        return self.items[-1]

    def props(self):
        name, path = self.item()
        (props,) = self.call(name, path, "org.freedesktop.DBus.Properties", "GetAll", GLib.Variant("(s)", (ITEM_IFACE,)), "(a{sv})").unpack()
        return {k: v for k, v in props.items() if k in ("Id", "Title", "Status", "IconName", "IconThemePath", "Menu", "Category", "AttentionIconName")}

    def menu(self):
        name, _ = self.item()
        menu_path = self.props()["Menu"]
        self.call(name, menu_path, MENU_IFACE, "AboutToShow", GLib.Variant("(i)", (0,)), "(b)")
        _rev, layout = self.call(name, menu_path, MENU_IFACE, "GetLayout", GLib.Variant("(iias)", (0, -1, [])), "(u(ia{sv}av))").unpack()

        def node(n):
            item_id, props, children = n
            return {
                "id": item_id,
                "label": props.get("label", "").replace("_", "") if props.get("type") != "separator" else "---",
                "enabled": props.get("enabled", True),
                "visible": props.get("visible", True),
                "toggle_state": props.get("toggle-state", -1),
                "children": [node(c) for c in children],
            }

        return node(layout)["children"]

    def click(self, pattern):
        name, _ = self.item()
        menu_path = self.props()["Menu"]
        regex = re.compile(pattern)

        def find(nodes):
            for n in nodes:
                if n["label"] != "---" and regex.search(n["label"]):
                    return n
                found = find(n["children"])
                if found:
                    return found
            return None

        target = find(self.menu())
        if not target:
            raise RuntimeError(f"no menu item matches {pattern!r}")
        self.call(name, menu_path, MENU_IFACE, "Event",
                  GLib.Variant("(isvu)", (target["id"], "clicked", GLib.Variant("i", 0), int(time.time()))), None)
        return {"clicked": target["label"]}


def reply(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main():
    host = Host()
    clipboard = Gtk.Clipboard.get(Gdk_atom_clipboard())

    def on_line(channel, condition):
        if condition & (GLib.IO_HUP | GLib.IO_ERR):
            Gtk.main_quit()
            return False
        line = sys.stdin.readline()
        if not line:
            Gtk.main_quit()
            return False
        try:
            req = json.loads(line)
            cmd = req.get("cmd")
            if cmd == "wait_item":
                # Waits for the n-th registration (a restarted app registers again).
                host.want = req.get("count", 1)
                if len(host.items) >= host.want:
                    reply({"service": host.items[-1][0], "path": host.items[-1][1]})
                else:
                    host.waiting = True
            elif cmd == "props":
                reply(host.props())
            elif cmd == "menu":
                reply(host.menu())
            elif cmd == "click":
                reply(host.click(req["label"]))
            elif cmd == "notifications":
                reply(host.notifications)
            elif cmd == "set_clipboard":
                clipboard.set_text(req["text"], -1)
                clipboard.store()
                reply({"ok": True})
            else:
                reply({"error": f"unknown command {cmd!r}"})
        except Exception as e:  # the test shows the reason
            reply({"error": str(e)})
        return True

    GLib.io_add_watch(GLib.IOChannel.unix_new(0), GLib.PRIORITY_DEFAULT, GLib.IO_IN | GLib.IO_HUP | GLib.IO_ERR, on_line)
    Gtk.main()


def Gdk_atom_clipboard():
    gi.require_version("Gdk", "3.0")
    from gi.repository import Gdk

    return Gdk.SELECTION_CLIPBOARD


if __name__ == "__main__":
    main()
