# Warning and sanitizer flags shared by every target of the project.
add_compile_options(-Wall -Wextra -Wpedantic -Wno-unused-parameter)
if(MAMBA2_WERROR)
  add_compile_options(-Werror)
endif()

if(MAMBA2_SANITIZE)
  set(_m2_san -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_compile_options(${_m2_san})
  add_link_options(${_m2_san})
  message(STATUS "mamba2: ASan + UBSan enabled")
endif()
