// Devices(): every RDMA device libibverbs can open, with its ports, as plain JS objects.
#include "verbs/devices.h"

#include "verbs/rdma_api.h"

namespace fabric {
namespace {

const char* PortState(ibv_port_state state) {
  switch (state) {
    case IBV_PORT_DOWN:
      return "DOWN";
    case IBV_PORT_INIT:
      return "INIT";
    case IBV_PORT_ARMED:
      return "ARMED";
    case IBV_PORT_ACTIVE:
      return "ACTIVE";
    case IBV_PORT_ACTIVE_DEFER:
      return "ACTIVE_DEFER";
    default:
      return "NOP";
  }
}

int MtuBytes(ibv_mtu mtu) { return 128 << static_cast<int>(mtu); }

Napi::Object Port(Napi::Env env, uint8_t number, const ibv_port_attr& attr) {
  Napi::Object port = Napi::Object::New(env);
  port.Set("port", number);
  port.Set("state", PortState(attr.state));
  port.Set("linkLayer", attr.link_layer == IBV_LINK_LAYER_ETHERNET ? "Ethernet" : "InfiniBand");
  port.Set("activeMtu", MtuBytes(attr.active_mtu));
  port.Set("maxMtu", MtuBytes(attr.max_mtu));
  port.Set("gidTableLength", attr.gid_tbl_len);
  return port;
}

}  // namespace

Napi::Value Devices(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const RdmaApi* rdma = Rdma();
  if (rdma == nullptr) {
    Napi::Error::New(env, LoadError()).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int count = 0;
  ibv_device** list = rdma->get_device_list(&count);
  Napi::Array devices = Napi::Array::New(env);
  if (list == nullptr) return devices;
  for (int i = 0; i < count; i++) {
    Napi::Object device = Napi::Object::New(env);
    device.Set("name", rdma->get_device_name(list[i]));
    Napi::Array ports = Napi::Array::New(env);
    ibv_context* context = rdma->open_device(list[i]);
    if (context == nullptr) {
      device.Set("error", "cannot open the device (is /dev/infiniband readable by this user?)");
    } else {
      ibv_device_attr attr{};
      if (rdma->query_device(context, &attr) == 0) {
        for (uint8_t p = 1; p <= attr.phys_port_cnt; p++) {
          ibv_port_attr port{};
          if (rdma->query_port(context, p, &port) == 0) ports.Set(ports.Length(), Port(env, p, port));
        }
      }
      rdma->close_device(context);
    }
    device.Set("ports", ports);
    devices.Set(devices.Length(), device);
  }
  rdma->free_device_list(list);
  return devices;
}

}  // namespace fabric
