"""What a run records about its machine: the CPU named so that two machines with one name differ."""

from keras_resnet_opt.environment import cpu_model

BLOCK = ("processor\t: {n}\nvendor_id\t: {vendor}\ncpu family\t: {family}\nmodel\t\t: {model}\n"
         "model name\t: {name}\nflags\t\t: fpu sse2 {flags}\n\n")


def _cpuinfo(tmp_path, **fields):
    tmp_path.mkdir(exist_ok=True)
    path = tmp_path / "cpuinfo"
    path.write_text("".join(BLOCK.format(n=n, **fields) for n in range(2)))
    return path


def test_two_cpus_with_one_name_are_told_apart_by_family_model_and_vector_isa(tmp_path):
    zen3 = _cpuinfo(tmp_path / "a", vendor="AuthenticAMD", family=25, model=1, name="AMD EPYC",
                    flags="avx avx2 fma")
    zen4 = _cpuinfo(tmp_path / "b", vendor="AuthenticAMD", family=25, model=17, name="AMD EPYC",
                    flags="avx avx2 avx512f avx512_vnni avx512_bf16")
    assert cpu_model(zen3) == "AMD EPYC [family 25 model 1, AVX2]"
    assert cpu_model(zen4) == "AMD EPYC [family 25 model 17, AVX512_BF16]"


def test_amx_is_the_widest_isa_and_a_cpu_without_vector_flags_is_named_by_its_numbers(tmp_path):
    xeon = _cpuinfo(tmp_path, vendor="GenuineIntel", family=6, model=143, name="Intel(R) Xeon(R) Platinum 8480+",
                    flags="avx2 avx512f avx512_bf16 amx_bf16 amx_tile")
    assert cpu_model(xeon) == "Intel(R) Xeon(R) Platinum 8480+ [family 6 model 143, AMX_TILE]"
    old = _cpuinfo(tmp_path, vendor="GenuineIntel", family=6, model=15, name="Intel Core2", flags="ssse3")
    assert cpu_model(old) == "Intel Core2 [family 6 model 15]"


def test_a_machine_without_proc_cpuinfo_still_gets_a_name(tmp_path):
    name = cpu_model(tmp_path / "missing")
    assert name and "[" not in name  # platform's name for the processor, with no numbers to add


def test_an_arm_cpu_is_named_by_its_implementer_part_and_features(tmp_path):
    path = tmp_path / "cpuinfo"
    block = ("processor\t: {n}\nBogoMIPS\t: 243.75\nFeatures\t: fp asimd evtstrm aes sve sve2 bf16 i8mm\n"
             "CPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: 0xd4f\n\n")
    path.write_text("".join(block.format(n=n) for n in range(2)))
    name = cpu_model(path)
    assert name.endswith(" [implementer 0x41 part 0xd4f, SVE2]")  # the name itself: platform's, e.g. aarch64
