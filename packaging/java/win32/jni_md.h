/*
 * jni_md.h for building the JNI shim for Windows with mingw on a Linux JDK, whose own
 * jni_md.h is the Linux one (JNICALL empty, jlong `long`, 32-bit on LLP64 Windows).
 * The definitions a Windows JDK's jni_md.h makes: JNI natives are __stdcall (matters on
 * x86 only; the shim is linked with --kill-at so HotSpot finds the undecorated names),
 * jint is 32 bits, jlong 64 bits.
 */
#ifndef _JAVASOFT_JNI_MD_H_
#define _JAVASOFT_JNI_MD_H_

#define JNIEXPORT __declspec(dllexport)
#define JNIIMPORT __declspec(dllimport)
#define JNICALL __stdcall

typedef long jint;
typedef long long jlong;
typedef signed char jbyte;

#endif
