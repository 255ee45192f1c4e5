// The traffic-control encoders (tc_encode.h) as functions of the addon.
#pragma once

#include <napi.h>

namespace nsnet {

void addTrafficControl(Napi::Env env, Napi::Object exports);

}  // namespace nsnet
