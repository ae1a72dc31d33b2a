import sys
sys.path.insert(0, "/work/wt/notify")
from PySide6.QtCore import QCoreApplication, QMetaObject, Q_ARG, Q_RETURN_ARG, Qt, QObject, Slot, SLOT, QTimer
from PySide6.QtDBus import QDBusConnection, QDBusInterface, QDBusMessage, QDBus
from tests.helpers.notification_server import NotificationServer
app = QCoreApplication([])
bus = QDBusConnection.sessionBus()
probe = QDBusMessage.createMethodCall("org.freedesktop.Notifications", "/org/freedesktop/Notifications", "org.freedesktop.Notifications", "GetServerInformation")
r = bus.call(probe, QDBus.CallMode.Block, 1500)
print("probe without server", r.type(), r.errorName())
srv = NotificationServer.start()
class L(QObject):
    @Slot("uint", str)
    def invoked(self, n, key):
        print("INVOKED", n, key); app.quit()
l = L()
print("connect", bus.connect("org.freedesktop.Notifications", "/org/freedesktop/Notifications", "org.freedesktop.Notifications", "ActionInvoked", l, SLOT("invoked(uint,QString)")))
r = bus.call(probe, QDBus.CallMode.Block, 1500)
print("probe", r.type(), r.arguments())
iface = QDBusInterface("org.freedesktop.Notifications", "/org/freedesktop/Notifications", "org.freedesktop.Notifications", bus)
iface.setTimeout(2000)
n = QMetaObject.invokeMethod(iface, "Notify", Qt.ConnectionType.DirectConnection, Q_RETURN_ARG("uint"),
   Q_ARG(str, "TokenDesk"), Q_ARG("uint", 0), Q_ARG(str, "icon"), Q_ARG(str, "Sum"), Q_ARG(str, "Body"),
   Q_ARG("QStringList", ["default", "Open"]), Q_ARG("QVariantMap", {"desktop-entry": "tokendesk"}), Q_ARG(int, -1))
print("id", n, iface.lastError().isValid())
print(srv.received())
srv.invoke(n)
QTimer.singleShot(5000, app.quit)
app.exec()
srv.stop()
try:
    n = QMetaObject.invokeMethod(iface, "Notify", Qt.ConnectionType.DirectConnection, Q_RETURN_ARG("uint"),
       Q_ARG(str, "TokenDesk"), Q_ARG("uint", 0), Q_ARG(str, "icon"), Q_ARG(str, "Sum"), Q_ARG(str, "Body"),
       Q_ARG("QStringList", ["default", "Open"]), Q_ARG("QVariantMap", {}), Q_ARG(int, -1))
    print("after stop", n, iface.lastError().isValid(), iface.lastError().name())
except Exception as e:
    print("raised", e, iface.lastError().name())
